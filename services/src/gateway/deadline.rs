//! Every request's deadline: `[server] request_timeout` (default 10 s), lowered — never raised —
//! by an `X-Request-Timeout` header in milliseconds. The deadline is stored in the request's
//! extensions as a [`RequestDeadline`] (handlers get it in their
//! [`CallContext`](bulwark_runtime::dependency::CallContext) through
//! [`RequestContext`](super::RequestContext)), and a handler still running at the deadline is
//! dropped: the request answers 504 `DEPENDENCY_ERROR`.

use std::future::Future;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use tokio::time::Instant;

use super::ApiError;

/// The header a client lowers its deadline with, in milliseconds.
pub const REQUEST_TIMEOUT_HEADER: &str = "x-request-timeout";

/// When the request must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Instant);

/// The route default the middleware applies.
#[derive(Debug, Clone, Copy)]
pub struct DefaultTimeout(pub Duration);

/// Sets the request's deadline (the default, lowered by a valid `X-Request-Timeout`) in its
/// extensions and answers it with the timeout it came from; a malformed header is refused.
pub fn start(
    DefaultTimeout(default): DefaultTimeout,
    req: &mut Request,
) -> Result<(Instant, Duration), ServiceError> {
    let timeout = requested(req)?.map_or(default, |asked| asked.min(default));
    let deadline = Instant::now() + timeout;
    req.extensions_mut().insert(RequestDeadline(deadline));
    Ok((deadline, timeout))
}

/// Runs `inner` until `deadline`; past it the request answers 504 `DEPENDENCY_ERROR`.
pub async fn run_until(
    deadline: Instant,
    timeout: Duration,
    id: CorrelationId,
    inner: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout_at(deadline, inner).await {
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
