//! Reading a response body under a size limit.
//!
//! The body is read chunk by chunk as it arrives and the read stops as soon as the limit would be
//! passed, so a misbehaving upstream cannot make us buffer more than the limit; a declared
//! `Content-Length` over the limit is refused before any byte is read.

use super::classify::body_error;
use super::error::HttpError;

/// Capacity reserved up front when the length is not declared.
const INITIAL_CAPACITY: usize = 8 * 1024;

/// The whole body of `response`, at most `limit` bytes.
pub(super) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let declared = response.content_length();
    let too_large = || HttpError::BodyTooLarge { limit, declared };
    let capacity = match declared {
        Some(len) if len > limit as u64 => return Err(too_large()),
        // At most `limit`, which is a usize.
        Some(len) => usize::try_from(len).unwrap_or(limit),
        None => INITIAL_CAPACITY.min(limit),
    };
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(body_error)? {
        if chunk.len() > limit - body.len() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
