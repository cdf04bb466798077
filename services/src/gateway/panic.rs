//! Panic isolation: a handler that panics answers 500 `SYSTEM_ERROR` in the standard format; the
//! panic's text goes to the log (with the request's correlation ID), never to the caller. Other
//! requests and the server are unaffected.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::error::ServiceError;
use futures::FutureExt;

use super::ApiError;
use super::extract::correlation_of;

/// The cause carried by the 500: says a handler panicked, for the log only.
#[derive(Debug, thiserror::Error)]
#[error("request handler panicked: {0}")]
pub struct HandlerPanicked(String);

/// The middleware function (install with `axum::middleware::from_fn(catch_panic)`).
pub async fn catch_panic(req: Request, next: Next) -> Response {
    let id = correlation_of(req.extensions());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let cause = HandlerPanicked(bulwark_runtime::error::panic_text(payload.as_ref()));
            ApiError::new(ServiceError::system(cause), id).into_response()
        }
    }
}
