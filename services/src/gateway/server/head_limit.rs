//! `max_header_bytes`: request heads over it answer 431 `VALIDATION_ERROR` in the standard format.
//!
//! Two layers share the work:
//! - here, on every parsed request before the application sees it, the header fields are counted
//!   as they travel in HTTP/1 (`name: value\r\n`, so `name + value + 4` bytes each) and compared
//!   with `max_header_bytes`; over it, the answer is the standard JSON 431 with the correlation ID
//!   and the connection stays usable;
//! - hyper's own limit is the hard backstop for heads too large to be worth parsing: its read
//!   buffer (HTTP/1) and header list size (HTTP/2) are [`backstop`]`(max_header_bytes)`, 8 times
//!   the limit. Heads over that (or with more than 100 fields, hyper's HTTP/1 default) get hyper's
//!   bare 431 with no body and the connection is closed.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{Details, ErrorCode, ErrorResponse, Timestamp};

use crate::gateway::error::respond;

/// hyper's HTTP/1 read buffer cannot be set below this (it panics).
const HYPER_MIN_BUFFER: usize = 8192;

/// How many times `max_header_bytes` hyper may buffer before it refuses a head on its own.
const BACKSTOP_FACTOR: usize = 8;

/// The hard limit handed to hyper for a `max_header_bytes` limit.
pub(super) fn backstop(max_header_bytes: usize) -> usize {
    max_header_bytes
        .saturating_mul(BACKSTOP_FACTOR)
        .max(HYPER_MIN_BUFFER)
}

/// The size of a request's header fields as counted against `max_header_bytes`.
pub(super) fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// The 431 answer when `headers` exceed `limit`, else `None`.
pub(super) fn check(headers: &HeaderMap, limit: usize) -> Option<Response> {
    let size = header_bytes(headers);
    if size <= limit {
        return None;
    }
    let incoming = headers
        .get(crate::gateway::correlation::CORRELATION_HEADER_NAME)
        .and_then(|v| v.to_str().ok());
    let id = CorrelationId::from_header(incoming);
    tracing::info!(
        correlation_id = %id,
        status = 431,
        header_bytes = size,
        limit,
        "request refused: header fields too large"
    );
    Some(respond(too_large(&id, limit)))
}

fn too_large(id: &CorrelationId, limit: usize) -> ErrorResponse {
    let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    ErrorResponse {
        error: true,
        status_code: status.as_u16(),
        message: "Request header fields too large".to_owned(),
        details: Details::from([(
            "headers".to_owned(),
            format!("must not be larger than {limit} bytes"),
        )]),
        error_code: ErrorCode::ValidationError,
        correlation_id: id.to_string(),
        timestamp: Timestamp::now(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use bulwark_runtime::correlation::CORRELATION_HEADER;

    use super::*;

    #[test]
    fn fields_are_counted_as_on_the_wire() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("x"));
        headers.append("a", HeaderValue::from_static("12"));
        headers.append("a", HeaderValue::from_static("3"));
        // "host: x\r\n" + "a: 12\r\n" + "a: 3\r\n"
        assert_eq!(header_bytes(&headers), 9 + 7 + 6);
        assert!(check(&headers, 22).is_none());
    }

    #[tokio::test]
    async fn over_the_limit_is_a_standard_431_keeping_a_valid_correlation_id() {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_HEADER, HeaderValue::from_static("big-1"));
        headers.insert("x-big", HeaderValue::from_str(&"b".repeat(100)).unwrap());
        let response = check(&headers, 64).unwrap();
        assert_eq!(response.status(), 431);
        assert_eq!(response.headers()[CORRELATION_HEADER], "big-1");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["error_code"], "VALIDATION_ERROR");
        assert_eq!(json["status_code"], 431);
        assert_eq!(json["correlation_id"], "big-1");
        assert_eq!(
            json["details"]["headers"],
            "must not be larger than 64 bytes"
        );
    }

    #[test]
    fn the_backstop_is_a_multiple_never_below_hypers_minimum() {
        assert_eq!(backstop(16 * 1024), 128 * 1024);
        assert_eq!(backstop(1024), 8192);
        assert_eq!(backstop(10), 8192);
        assert_eq!(backstop(usize::MAX), usize::MAX);
    }
}
