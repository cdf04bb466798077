//! [`ProviderError`]: why one provider attempt failed, and what that means for failover.
//!
//! Both APIs answer errors as `{"error": {"type", "message"}}` (Anthropic wraps it in
//! `{"type": "error", …}`), in a failed response's body or as an event in a stream. The parsed
//! type and message travel in the error (a 401/403's message is dropped: some APIs quote part of
//! the key in it). What a failure means:
//!
//! | failure | kind | next |
//! | --- | --- | --- |
//! | 429, 503, 529 (rate limit, overload) | transient, with its `Retry-After` | the next provider |
//! | 408, 500, 502, 504, a broken connection, the read timeout | transient | the next provider |
//! | a success body that cannot be read, a stream that errs or ends before its first token | transient | the next provider |
//! | 401, 403 | unauthorized: opens no breaker, readiness names the provider | the next provider |
//! | 400, 404, 409, 422 | the request's fault | none: the template answers |

use std::time::Duration;

use bulwark_runtime::dependency::DependencyError;
use bulwark_runtime::http::HttpError;
use bulwark_runtime::http::classify::classify;
use serde::Deserialize;

/// Longest provider error message kept (the rest is cut).
const MAX_MESSAGE_CHARS: usize = 300;

/// An error as both APIs send it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiError {
    /// `error.type` (`rate_limit_error`, `overloaded_error`, `server_error`, …).
    pub kind: Option<String>,
    /// `error.message`, cut to a few hundred characters.
    pub message: Option<String>,
}

impl ApiError {
    /// Parses `{"error": {"type", "message"}}` (either API's shape); `None` when the body is
    /// something else.
    pub fn parse(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Envelope {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(rename = "type", default)]
            kind: Option<String>,
            #[serde(default)]
            message: Option<String>,
        }
        let envelope: Envelope = serde_json::from_slice(body).ok()?;
        Some(Self {
            kind: envelope.error.kind,
            message: envelope
                .error
                .message
                .map(|m| m.chars().take(MAX_MESSAGE_CHARS).collect()),
        })
    }

    /// The same error without its message.
    fn redacted(self) -> Self {
        Self {
            kind: self.kind,
            message: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.message) {
            (Some(kind), Some(message)) => write!(f, "{kind}: {message}"),
            (Some(text), None) | (None, Some(text)) => f.write_str(text),
            (None, None) => f.write_str("no error body"),
        }
    }
}

/// Why one provider attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The exchange failed (connect, timeout, broken body, size limit).
    #[error("provider exchange failed")]
    Http(#[source] HttpError),
    /// The provider answered an error status.
    #[error("provider answered {status} ({error})")]
    Status {
        /// The status.
        status: u16,
        /// Its `Retry-After`, if valid.
        retry_after: Option<Duration>,
        /// The parsed error body.
        error: ApiError,
    },
    /// A success whose body is not the API's answer (or holds no text).
    #[error("provider answered a body that is not a {api} answer")]
    Malformed {
        /// `"chat completion"`, `"message"`, `"stream event"`.
        api: &'static str,
        /// Why it could not be read, when JSON decoding failed.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The stream carried an error event.
    #[error("provider stream failed ({0})")]
    StreamError(ApiError),
    /// The stream ended before its end marker.
    #[error("provider stream ended before its end")]
    StreamEnded,
    /// A stream line is longer than the response size limit.
    #[error("provider stream line too long")]
    LineTooLong(#[source] super::sse::LineTooLong),
}

impl ProviderError {
    /// An error status with its body (read by the caller) and `Retry-After`.
    pub fn status(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let error = ApiError::parse(body).unwrap_or_default();
        let error = if matches!(status, 401 | 403) {
            error.redacted()
        } else {
            error
        };
        Self::Status {
            status,
            retry_after,
            error,
        }
    }

    /// What the failure means for the breaker and failover (the table in the module docs).
    pub fn classify(self) -> DependencyError {
        match self {
            Self::Http(err) => classify(err),
            Self::Status {
                status,
                retry_after,
                ..
            } => {
                let classified = if status == 529 {
                    DependencyError::transient(self).not_delivered()
                } else {
                    DependencyError::from_status(status, self)
                };
                match retry_after {
                    Some(delay) => classified.with_retry_after(delay),
                    None => classified,
                }
            }
            Self::Malformed { .. }
            | Self::StreamError(_)
            | Self::StreamEnded
            | Self::LineTooLong(_) => DependencyError::transient(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use bulwark_runtime::dependency::FailureKind;

    use super::*;

    #[test]
    fn both_error_shapes_are_parsed() {
        let openai = br#"{"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded", "code": 429}}"#;
        let anthropic =
            br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#;
        assert_eq!(
            ApiError::parse(openai).unwrap().to_string(),
            "rate_limit_exceeded: Rate limit reached"
        );
        assert_eq!(
            ApiError::parse(anthropic).unwrap().kind.as_deref(),
            Some("overloaded_error")
        );
        assert_eq!(ApiError::parse(b"<html>"), None);
    }

    #[test]
    fn statuses_mean_what_the_table_says() {
        let kind = |status| ProviderError::status(status, None, b"").classify().kind();
        for status in [429, 500, 502, 503, 504, 529] {
            assert_eq!(kind(status), FailureKind::Transient, "{status}");
        }
        assert_eq!(kind(401), FailureKind::Unauthorized);
        assert_eq!(kind(400), FailureKind::RejectedRequest);
        let err = ProviderError::status(429, Some(Duration::from_secs(3)), b"").classify();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        let malformed = ProviderError::Malformed {
            api: "message",
            source: None,
        };
        assert_eq!(malformed.classify().kind(), FailureKind::Transient);
    }

    #[test]
    fn a_refused_key_is_never_quoted() {
        let body = br#"{"error": {"message": "Incorrect API key provided: sk-abc***xyz", "type": "invalid_request_error"}}"#;
        let err = ProviderError::status(401, None, body);
        let text = bulwark_runtime::error::chain(&err).to_string();
        assert!(!text.contains("sk-abc"), "{text}");
        assert!(text.contains("invalid_request_error"), "{text}");
    }
}
