//! Every request's deadline: `[server] request_timeout` (default 10 s), lowered — never raised —
//! by an `X-Request-Timeout` header in milliseconds. The deadline is stored in the request's
//! extensions as a [`RequestDeadline`] (handlers get it in their
//! [`CallContext`](bulwark_runtime::dependency::CallContext) through
//! [`RequestContext`](super::RequestContext)), and a handler still running at the deadline is
//! dropped: the request answers 504 `DEPENDENCY_ERROR`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use tokio::time::Instant;

use super::ApiError;
use super::extract::correlation_of;

/// The header a client lowers its deadline with, in milliseconds.
pub const REQUEST_TIMEOUT_HEADER: &str = "x-request-timeout";

/// When the request must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Instant);

/// The route default the middleware applies.
#[derive(Debug, Clone, Copy)]
pub struct DefaultTimeout(pub Duration);

/// The middleware.
pub async fn enforce(
    State(DefaultTimeout(default)): State<DefaultTimeout>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = correlation_of(req.extensions());
    let timeout = match requested(&req) {
        Ok(Some(asked)) => asked.min(default),
        Ok(None) => default,
        Err(error) => return ApiError::new(error, id).into_response(),
    };
    let deadline = Instant::now() + timeout;
    req.extensions_mut().insert(RequestDeadline(deadline));
    match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            let error = ServiceError::Dependency {
                message: "Request deadline exceeded".to_owned(),
                failure: DependencyFailure::Timeout,
                details: [("timeout_ms".to_owned(), millis.to_string())].into(),
                retry_after: None,
                source: None,
            };
            ApiError::new(error, id).into_response()
        }
    }
}

/// The client's `X-Request-Timeout`, if any; a value that is not a positive whole number of
/// milliseconds is a validation error.
fn requested(req: &Request) -> Result<Option<Duration>, ServiceError> {
    let Some(value) = req.headers().get(REQUEST_TIMEOUT_HEADER) else {
        return Ok(None);
    };
    let millis = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .ok_or_else(|| {
            ServiceError::validation_field(
                "X-Request-Timeout",
                "must be a positive whole number of milliseconds",
            )
        })?;
    Ok(Some(Duration::from_millis(millis)))
}
