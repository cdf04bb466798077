//! The correlation step, outermost on every request ([`layer`](super::layer) runs it).
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

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;
use bulwark_runtime::correlation::{CORRELATION_HEADER, CorrelationId};
use bulwark_runtime::telemetry;
use tracing::Span;

use super::error::standardize;

/// The `X-Correlation-ID` header's name, built at compile time: looking a header up by a `&str`
/// parses and hashes the name on every request.
pub const CORRELATION_HEADER_NAME: HeaderName = HeaderName::from_static(CORRELATION_HEADER);

/// A request whose correlation has begun: its ID, its span, and what the access log needs.
#[derive(Debug)]
pub struct Correlated {
    id: CorrelationId,
    span: Span,
    method: Method,
    // The URI, not a copy of its path: cloning it only counts a reference.
    uri: Uri,
    started: Instant,
}

/// Takes the request's valid `X-Correlation-ID` or makes one, stores it in the request's
/// extensions and opens the request's span (continuing the client's `traceparent`). `started`
/// is when the request began, for the access log's duration.
pub fn begin(req: &mut Request, started: Instant) -> Correlated {
    let incoming = req
        .headers()
        .get(CORRELATION_HEADER_NAME)
        .and_then(|v| v.to_str().ok());
    let id = CorrelationId::from_header(incoming);
    req.extensions_mut().insert(id.clone());
    let method = req.method().clone();
    let uri = req.uri().clone();
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %method,
        path = %uri.path(),
    );
    telemetry::continue_trace(&span, req.headers());
    Correlated {
        id,
        span,
        method,
        uri,
        started,
    }
}

impl Correlated {
    /// The request's correlation ID.
    pub fn id(&self) -> &CorrelationId {
        &self.id
    }

    /// The request's span: the rest of the request runs in it.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Puts `response` in the standard format if it is an error not yet in it, sets the ID
    /// header, and logs the request's line.
    pub fn finish(self, response: Response) -> Response {
        let mut response = standardize(response, &self.id);
        if let Ok(value) = HeaderValue::from_str(self.id.as_str()) {
            response
                .headers_mut()
                .insert(CORRELATION_HEADER_NAME, value);
        }
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.span.in_scope(|| {
            tracing::info!(
                method = %self.method,
                path = %self.uri.path(),
                status = response.status().as_u16(),
                duration_ms = micros as f64 / 1e3,
                "request finished"
            );
        });
        response
    }
}
