//! The request body limit (default 1 MiB): larger bodies answer 413 `VALIDATION_ERROR`.
//!
//! A body that announces its size (`Content-Length`) over the limit is refused before a byte of it
//! is read. A body without a length (chunked) is cut off at the limit while it is read: axum's
//! [`DefaultBodyLimit`](axum::extract::DefaultBodyLimit) applies to every body extractor, and [`ApiJson`](super::ApiJson) answers
//! its overflow with the same 413.

use axum::extract::Request;
use axum::http::header;
use bulwark_runtime::error::ServiceError;

use super::config::DEFAULT_BODY_LIMIT;

/// The limit in force, stored in the request's extensions for extractors to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(usize);

impl BodyLimit {
    /// A limit of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self(bytes)
    }

    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        self.0
    }
}

impl Default for BodyLimit {
    fn default() -> Self {
        Self(DEFAULT_BODY_LIMIT)
    }
}

/// Refuses a request whose `Content-Length` exceeds the limit; otherwise records the limit in the
/// request's extensions and passes it on. Installed by [`build`](super::build) with
/// `from_fn_with_state(BodyLimit::new(limit), enforce)` next to `DefaultBodyLimit::max(limit)`.
pub fn check(limit: BodyLimit, req: &mut Request) -> Result<(), ServiceError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit.0 as u64) {
        return Err(ServiceError::PayloadTooLarge {
            limit_bytes: limit.0 as u64,
        });
    }
    req.extensions_mut().insert(limit);
    Ok(())
}
