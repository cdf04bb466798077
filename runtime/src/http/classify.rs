//! What an HTTP failure means for retries and the breaker, and `Retry-After`.
//!
//! | failure | kind | retried |
//! | --- | --- | --- |
//! | connect refused, unreachable, connect timeout | transient, never reached the server | yes, even when not idempotent |
//! | read timeout, reset, body broken off | transient | yes (idempotent requests) |
//! | 408, 429, 500, 502, 503, 504 | transient (429 and 503: never processed) | yes |
//! | 400, 404, 409, 422 | the caller's fault: ignored by the breaker | no |
//! | 401, 403 | unauthorized: opens no breaker, counted in the snapshot | no |
//! | other statuses, a body over the limit, a body that is not the expected JSON | permanent | no |
//! | a request body that cannot be encoded, an invalid path | the caller's fault | no |
//!
//! `Retry-After` is read from every answer that is not a success, in either form the standard
//! allows: delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, also the
//! obsolete RFC 850 and asctime forms). A date in the past means "now".

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::RETRY_AFTER;

use crate::dependency::DependencyError;

use super::error::HttpError;

/// The classified failure the guard sees, with `err` as its cause.
pub fn classify(err: HttpError) -> DependencyError {
    match err {
        HttpError::Status {
            status,
            retry_after,
        } => {
            let classified = DependencyError::from_status(status.as_u16(), err);
            match retry_after {
                Some(delay) => classified.with_retry_after(delay),
                None => classified,
            }
        }
        HttpError::Encode(_) | HttpError::InvalidRequest(_) => {
            DependencyError::rejected_request(err)
        }
        HttpError::Connect(_) => DependencyError::transient(err).not_delivered(),
        HttpError::Timeout(_) | HttpError::Transport(_) | HttpError::Body(_) => {
            DependencyError::transient(err)
        }
        HttpError::BodyTooLarge { .. } | HttpError::Decode { .. } => {
            DependencyError::permanent(err)
        }
    }
}

/// The error of a failed send (before any status was seen), by what reqwest says went wrong.
pub(super) fn send_error(err: reqwest::Error) -> HttpError {
    if err.is_builder() {
        HttpError::InvalidRequest(err)
    } else if err.is_connect() {
        HttpError::Connect(err)
    } else if err.is_timeout() {
        HttpError::Timeout(err)
    } else {
        HttpError::Transport(err)
    }
}

/// The error of a failed body read.
pub(super) fn body_error(err: reqwest::Error) -> HttpError {
    if err.is_timeout() {
        HttpError::Timeout(err)
    } else {
        HttpError::Body(err)
    }
}

/// The `Retry-After` of `headers` as a delay from `now`, if present and valid.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (a past date means zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate; the retry policy refuses waits past its maximum.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dependency::FailureKind;
    use http::{HeaderValue, StatusCode};

    fn status(code: u16) -> DependencyError {
        classify(HttpError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
        })
    }

    #[test]
    fn statuses_by_class() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert_eq!(status(code).kind(), FailureKind::Transient, "{code}");
        }
        for code in [400, 404, 409, 422] {
            assert_eq!(status(code).kind(), FailureKind::RejectedRequest, "{code}");
        }
        for code in [401, 403] {
            assert_eq!(status(code).kind(), FailureKind::Unauthorized, "{code}");
        }
        for code in [301, 405, 410, 413, 501] {
            assert_eq!(status(code).kind(), FailureKind::Permanent, "{code}");
        }
    }

    #[test]
    fn the_http_error_is_the_cause() {
        let err = status(503);
        let cause = std::error::Error::source(&err).unwrap();
        assert_eq!(
            cause.to_string(),
            "dependency answered 503 Service Unavailable"
        );
        assert!(cause.downcast_ref::<HttpError>().is_some());
    }

    #[test]
    fn retry_after_in_seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_as_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after the epoch.
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let now = date - Duration::from_secs(90);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(90)),
                "{form}"
            );
        }
        let later = date + Duration::from_secs(5);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("tomorrow", now), None);
    }

    #[test]
    fn retry_after_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, SystemTime::now()), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(
            retry_after(&headers, SystemTime::now()),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_travels_with_the_failure() {
        let err = classify(HttpError::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(Duration::from_secs(3)),
        });
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(!err.may_have_reached(), "a 503 was not processed");
    }

    #[test]
    fn decoding_and_size_failures_are_permanent() {
        let source = serde_json::from_slice::<u32>(b"nope").unwrap_err();
        let err = classify(HttpError::Decode {
            content_type: Some("text/html".to_owned()),
            source,
        });
        assert_eq!(err.kind(), FailureKind::Permanent);
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "response is not the expected JSON (content-type: text/html)"
        );
        let err = classify(HttpError::BodyTooLarge {
            limit: 10,
            declared: None,
        });
        assert_eq!(err.kind(), FailureKind::Permanent);
        let unencodable = std::collections::BTreeMap::from([((1u8, 2u8), 3u8)]);
        let source = serde_json::to_vec(&unencodable).unwrap_err();
        assert_eq!(
            classify(HttpError::Encode(source)).kind(),
            FailureKind::RejectedRequest,
            "our own request could not be encoded: nothing to do with the dependency"
        );
    }
}
