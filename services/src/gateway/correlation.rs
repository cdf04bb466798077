//! The correlation middleware, outermost on every request.
//!
//! It takes the `X-Correlation-ID` header when it is valid (1–128 printable ASCII characters; a
//! non-ASCII header value counts as invalid), otherwise makes a fresh UUID v7; stores the ID in the
//! request's extensions (see [`Correlation`](super::Correlation)); runs the request inside a
//! `request` span with the `correlation_id` field, so every log line of the request carries it
//! (when traces are exported, the span continues the client's W3C `traceparent`, if valid);
//! turns error responses not yet in the standard format into it
//! ([`standardize`](super::error::standardize())); sets the ID on the response header; and logs one
//! line per request (method, path without query string, status, duration — never bodies or
//! headers).

use std::future::Future;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use bulwark_runtime::correlation::{CORRELATION_HEADER, CorrelationId};
use bulwark_runtime::telemetry;
use tracing::Instrument;

use super::error::standardize;

/// The middleware function (install with `axum::middleware::from_fn(correlate)`).
pub async fn correlate(req: Request, next: Next) -> Response {
    within(req, |req| next.run(req)).await
}

/// Runs `inner` (the rest of the request's way) as [`correlate`] does, for a layer that composes
/// it with others.
pub async fn within<F, Fut>(mut req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let header = HeaderName::from_static(CORRELATION_HEADER);
    let incoming = req.headers().get(&header).and_then(|v| v.to_str().ok());
    let id = CorrelationId::from_header(incoming);
    req.extensions_mut().insert(id.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %method,
        path = %path,
    );
    telemetry::continue_trace(&span, req.headers());
    async move {
        let started = Instant::now();
        let response = inner(req).await;
        let mut response = standardize(response, &id);
        if let Ok(value) = HeaderValue::from_str(id.as_str()) {
            response.headers_mut().insert(header, value);
        }
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::info!(
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            duration_ms = micros as f64 / 1e3,
            "request finished"
        );
        response
    }
    .instrument(span)
    .await
}
