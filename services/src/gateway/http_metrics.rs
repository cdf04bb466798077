//! The HTTP series of every request: `bulwark_http_requests_total{route,status,error_code}` and
//! `bulwark_http_request_duration_seconds{route}`. `route` is the matched route template (never
//! the raw path, so an attacker cannot blow up the series count); unknown routes are
//! `unmatched`. `error_code` is the standard error code of a non-2xx answer, `none` otherwise.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{StandardError, code_for};

/// Metric names of the gateway.
pub mod names {
    /// Requests answered, by route template, status and error code.
    pub const HTTP_REQUESTS_TOTAL: &str = "bulwark_http_requests_total";
    /// Time to answer, by route template.
    pub const HTTP_REQUEST_DURATION_SECONDS: &str = "bulwark_http_request_duration_seconds";
    /// Requests refused at once because their route class was full, by class.
    pub const HTTP_SHED_TOTAL: &str = "bulwark_http_shed_total";
}

/// Histogram buckets of the request duration, in seconds.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Describes the series (once per process is enough; repeating is harmless).
pub fn describe() {
    metrics::describe_counter!(
        names::HTTP_REQUESTS_TOTAL,
        "HTTP requests answered, by route template, status and error code"
    );
    metrics::describe_histogram!(
        names::HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route template"
    );
    metrics::describe_counter!(
        names::HTTP_SHED_TOTAL,
        "HTTP requests refused at once because their route class was at capacity"
    );
}

/// The middleware (inside [`correlation`](super::correlation), so it sees every answer).
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status();
    let error_code = if status.is_client_error() || status.is_server_error() {
        response
            .extensions()
            .get::<StandardError>()
            .map_or_else(|| code_for(status), |e| e.0)
            .as_str()
    } else {
        "none"
    };
    metrics::counter!(
        names::HTTP_REQUESTS_TOTAL,
        "route" => route.clone(),
        "status" => status.as_str().to_owned(),
        "error_code" => error_code,
    )
    .increment(1);
    metrics::histogram!(names::HTTP_REQUEST_DURATION_SECONDS, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
