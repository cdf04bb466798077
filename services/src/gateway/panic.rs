//! Panic isolation: a handler that panics answers 500 `SYSTEM_ERROR` in the standard format; the
//! panic's text goes to the log (with the request's correlation ID), never to the caller. Other
//! requests and the server are unaffected.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use axum::response::{IntoResponse, Response};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::ServiceError;
use futures::FutureExt;

use super::ApiError;

/// The cause carried by the 500: says a handler panicked, for the log only.
#[derive(Debug, thiserror::Error)]
#[error("request handler panicked: {0}")]
pub struct HandlerPanicked(String);

/// Runs `inner` (the rest of the request's way), answering a panic in it as a 500 in the standard
/// format for request `id`.
pub async fn catch(id: CorrelationId, inner: impl Future<Output = Response>) -> Response {
    match AssertUnwindSafe(inner).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => response(id, payload.as_ref()),
    }
}

/// The answer to a request whose handler panicked with `payload`: 500 `SYSTEM_ERROR` (the panic
/// text goes to the log, not to the client).
pub fn response(id: CorrelationId, payload: &(dyn std::any::Any + Send)) -> Response {
    let cause = HandlerPanicked(bulwark_runtime::error::panic_text(payload));
    ApiError::new(ServiceError::system(cause), id).into_response()
}
