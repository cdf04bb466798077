//! Admission at the edge: which requests get in while the service is loaded.
//!
//! Routes fall into two [`RouteClass`]es. The critical class — health, metrics, status and token
//! validation — is what an orchestrator and the other services need to keep working while the
//! rest is overloaded; it has its own places and its own rates, so load on other routes never
//! queues it. Two steps of [`admission`](super::admission), in this order:
//!
//! 1. [`rate_limit`]: a GCRA limiter per client and class; over it ⇒ 429 `RATE_LIMIT_ERROR`
//!    with `Retry-After`;
//! 2. [`priority`]: requests in flight per class; a full class ⇒ 503 `DEPENDENCY_ERROR` with
//!    `Retry-After: 1`, at once (nothing waits in a queue).

pub mod priority;
pub mod rate_limit;

use axum::extract::MatchedPath;
use axum::http::Extensions;
use bulwark_runtime::bulkhead::Priority;
use serde::Serialize;

/// The routes that keep working under load, by their route template.
pub const CRITICAL_ROUTES: &[&str] = &["/livez", "/readyz", "/metrics", "/status", "/v1/auth/me"];

/// A route's class at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteClass {
    /// Health, metrics, status and token validation.
    Critical,
    /// Every other route, unknown routes included.
    NonCritical,
}

impl RouteClass {
    /// The class of the route matched for a request (unmatched requests are non-critical).
    pub fn of(extensions: &Extensions) -> Self {
        match extensions.get::<MatchedPath>() {
            Some(path) if CRITICAL_ROUTES.contains(&path.as_str()) => Self::Critical,
            _ => Self::NonCritical,
        }
    }

    /// The label used in metrics and error details.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::NonCritical => "non_critical",
        }
    }

    /// The bulkhead priority calls made for this request get.
    pub const fn priority(self) -> Priority {
        match self {
            Self::Critical => Priority::Critical,
            Self::NonCritical => Priority::NonCritical,
        }
    }
}
