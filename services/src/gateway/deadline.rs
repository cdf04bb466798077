//! Every request's deadline: `[server] request_timeout` (default 10 s), lowered — never raised —
//! by an `X-Request-Timeout` header in milliseconds. The deadline is stored in the request's
//! extensions as a [`RequestDeadline`] (handlers get it in their
//! [`CallContext`](bulwark_runtime::dependency::CallContext) through
//! [`RequestContext`](super::RequestContext)), and a handler still running at the deadline is
//! dropped: the request answers 504 `DEPENDENCY_ERROR`.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use tokio::time::{Instant, Sleep};

use super::ApiError;

/// The header a client lowers its deadline with, in milliseconds.
pub const REQUEST_TIMEOUT_HEADER: &str = "x-request-timeout";

const REQUEST_TIMEOUT_HEADER_NAME: HeaderName = HeaderName::from_static(REQUEST_TIMEOUT_HEADER);

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
///
/// Most handlers answer at their first poll: the deadline's timer is only made (and registered
/// with the runtime) once the handler has returned `Pending`.
pub async fn run_until(
    deadline: Instant,
    timeout: Duration,
    id: CorrelationId,
    inner: impl Future<Output = Response>,
) -> Response {
    let mut inner = pin!(inner);
    let mut timer = pin!(None::<Sleep>);
    let answered = std::future::poll_fn(|cx| {
        if let Poll::Ready(response) = inner.as_mut().poll(cx) {
            return Poll::Ready(Some(response));
        }
        if timer.is_none() {
            timer.set(Some(tokio::time::sleep_until(deadline)));
        }
        match timer.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|()| None),
            None => Poll::Pending,
        }
    })
    .await;
    match answered {
        Some(response) => response,
        None => {
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
    let Some(value) = req.headers().get(REQUEST_TIMEOUT_HEADER_NAME) else {
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

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn run(after: Option<Duration>, budget: Duration) -> impl Future<Output = Response> + 'static {
        let deadline = Instant::now() + budget;
        let handler = async move {
            match after {
                Some(delay) => tokio::time::sleep(delay).await,
                None => std::future::pending::<()>().await,
            }
            StatusCode::OK.into_response()
        };
        run_until(deadline, budget, CorrelationId::from_static("d-1"), handler)
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_within_its_deadline_answers_and_one_past_it_gets_a_504() {
        let started = Instant::now();
        let answer = run(Some(Duration::from_secs(1)), Duration::from_secs(2)).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(started.elapsed(), Duration::from_secs(1));

        let started = Instant::now();
        let answer = run(None, Duration::from_secs(2)).await;
        assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_ready_handler_answers_even_when_its_deadline_has_passed() {
        let answer = run(Some(Duration::ZERO), Duration::ZERO).await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
}
