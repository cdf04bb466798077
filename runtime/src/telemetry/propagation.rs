//! W3C trace context: continuing a client's trace and handing ours to upstreams.
//!
//! Both only act when the OpenTelemetry layer is installed (trace export configured); without it
//! [`continue_trace`] does nothing and [`current_traceparent`] answers `None`, so callers fall
//! back to their own header (see [`crate::http::trace`]).

use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header carrying the trace and parent span IDs.
const TRACEPARENT: &str = "traceparent";

/// Makes the client's trace (its `traceparent`, and `tracestate`) the parent of `span`, which
/// must not have been entered yet. Answers whether it did: `false` without a valid header, without
/// the OpenTelemetry layer, or when `span` is disabled.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) -> bool {
    if span.is_disabled() || !headers.contains_key(TRACEPARENT) {
        return false;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if !parent.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(parent).is_ok()
}

/// A `traceparent` value for the current span, when it belongs to an exported trace (the
/// OpenTelemetry layer is installed and the span is enabled for it).
pub fn current_traceparent() -> Option<HeaderValue> {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_ref = context.span();
    let sc = span_ref.span_context();
    if !sc.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    );
    HeaderValue::try_from(value).ok()
}

/// Reads propagation fields from HTTP headers (only values that are visible ASCII).
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_layer_nothing_happens() {
        let mut headers = HeaderMap::new();
        headers.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let sub = tracing_subscriber::registry();
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("request");
            assert!(!continue_trace(&span, &headers));
            let _entered = span.enter();
            assert!(current_traceparent().is_none());
        });
        assert!(!continue_trace(&tracing::Span::none(), &headers));
    }
}
