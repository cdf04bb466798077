//! The HTTP series of every request: `bulwark_http_requests_total{route,status,error_code}` and
//! `bulwark_http_request_duration_seconds{route}`. `route` is the matched route template (never
//! the raw path, so an attacker cannot blow up the series count); unknown routes are
//! `unmatched`. `error_code` is the standard error code of a non-2xx answer, `none` otherwise.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use metrics::{Counter, Histogram};

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

/// The series of one route template, registered once and shared: recording an answer only
/// touches the handles. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RouteMetrics(Arc<RouteSeries>);

impl RouteMetrics {
    /// The series of `template` (a route template, or [`UNMATCHED`]).
    pub fn of(template: &str) -> Self {
        Self(series(template))
    }

    /// The route template.
    pub fn template(&self) -> &str {
        &self.0.template
    }

    /// Counts `response` and records the time since `started`.
    pub fn record(&self, response: &Response, started: Instant) {
        let route = &self.0;
        let status = response.status();
        if status == StatusCode::OK {
            route
                .ok
                .get_or_init(|| route.register(status, "none"))
                .increment(1);
        } else {
            let error_code = if status.is_client_error() || status.is_server_error() {
                response
                    .extensions()
                    .get::<StandardError>()
                    .map_or_else(|| code_for(status), |e| e.0)
                    .as_str()
            } else {
                "none"
            };
            route.requests(status, error_code).increment(1);
        }
        route.duration.record(started.elapsed().as_secs_f64());
    }
}

/// The series of one route template. Registering a labelled series hashes and copies its
/// labels, so each is registered once and its handle kept: a request only looks its route up.
#[derive(Debug)]
struct RouteSeries {
    template: Arc<str>,
    duration: Histogram,
    /// `200`, `none`: most answers, kept apart from the map and its lock.
    ok: OnceLock<Counter>,
    requests: RwLock<HashMap<(u16, &'static str), Counter>>,
}

impl RouteSeries {
    fn requests(&self, status: StatusCode, error_code: &'static str) -> Counter {
        let key = (status.as_u16(), error_code);
        if let Some(counter) = read(&self.requests).get(&key) {
            return counter.clone();
        }
        let counter = self.register(status, error_code);
        write(&self.requests).entry(key).or_insert(counter).clone()
    }

    fn register(&self, status: StatusCode, error_code: &'static str) -> Counter {
        metrics::counter!(
            names::HTTP_REQUESTS_TOTAL,
            "route" => self.template.to_string(),
            "status" => status.as_str().to_owned(),
            "error_code" => error_code,
        )
    }
}

/// Route templates seen so far (bounded by the router's routes, plus [`UNMATCHED`]).
static SERIES: LazyLock<RwLock<HashMap<Arc<str>, Arc<RouteSeries>>>> =
    LazyLock::new(RwLock::default);

fn series(template: &str) -> Arc<RouteSeries> {
    if let Some(series) = read(&SERIES).get(template) {
        return Arc::clone(series);
    }
    let template: Arc<str> = Arc::from(template);
    let series = Arc::new(RouteSeries {
        duration: metrics::histogram!(
            names::HTTP_REQUEST_DURATION_SECONDS,
            "route" => template.to_string()
        ),
        template: Arc::clone(&template),
        ok: OnceLock::new(),
        requests: RwLock::default(),
    });
    Arc::clone(write(&SERIES).entry(template).or_insert(series))
}

// A poisoned lock only means a thread panicked while holding it; the map is still whole (every
// insert is one `entry` call).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
