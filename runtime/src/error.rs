//! The one error model: every error that leaves a Bulwark process is an [`ErrorResponse`].
//!
//! A [`ServiceError`] is what code inside the process returns. It knows its HTTP status, its
//! [`ErrorCode`], a message that is safe to show to a caller, optional per-field details and
//! whether the failure is transient (worth retrying). Turning it into an [`ErrorResponse`] is the
//! only way it reaches the wire: that step drops internal text for `SYSTEM_ERROR`s, so a 500 never
//! leaks what went wrong inside — the cause goes to the log together with the correlation ID.
//!
//! | code | statuses | built by |
//! | --- | --- | --- |
//! | `AUTH_ERROR` | 401, 403 | [`ServiceError::unauthorized`], [`ServiceError::forbidden`] |
//! | `VALIDATION_ERROR` | 400, 413 | [`ServiceError::validation_field`], [`ServiceError::PayloadTooLarge`] |
//! | `RESOURCE_ERROR` | 404, 405, 409 | [`ServiceError::not_found`], [`ServiceError::MethodNotAllowed`], [`ServiceError::conflict`] |
//! | `RATE_LIMIT_ERROR` | 429 | [`ServiceError::RateLimited`] (always with `Retry-After`) |
//! | `DEPENDENCY_ERROR` | 502, 503, 504 | [`ServiceError::Dependency`] |
//! | `PROCESSING_ERROR` | 422 | [`ServiceError::Processing`] |
//! | `SYSTEM_ERROR` | 500 | [`ServiceError::system`] (message is always "Internal server error") |
//!
//! 405 and 413 are not in the seed table: a wrong method is a `RESOURCE_ERROR` (the resource exists
//! but does not support the method) and an oversized body a `VALIDATION_ERROR` (the request is
//! invalid as sent).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::correlation::CorrelationId;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Renders an error with its whole cause chain: `outer: cause: root`.
///
/// ```
/// use bulwark_runtime::error::chain;
/// let io = std::io::Error::other("disk on fire");
/// let outer = std::io::Error::new(std::io::ErrorKind::Other, io);
/// assert_eq!(chain(&outer).to_string(), "disk on fire");
/// ```
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> ErrorChain<'a> {
    ErrorChain(error)
}

/// An error and its causes, displayed as one line (see [`chain`]).
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut current = Some(self.0);
        let mut first = true;
        let mut previous = String::new();
        while let Some(error) = current {
            let text = error.to_string();
            // Wrappers that display their cause (`#[error(transparent)]`, io::Error) repeat it.
            if text != previous {
                if !first {
                    f.write_str(": ")?;
                }
                f.write_str(&text)?;
                first = false;
            }
            previous = text;
            current = error.source();
        }
        Ok(())
    }
}

/// The text of a panic payload (`&str` or `String`; anything else is named as such).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic payload)".to_owned())
}

/// The seven error codes of the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Missing, invalid or insufficient credentials (401/403).
    AuthError,
    /// The request is malformed or a field is invalid (400).
    ValidationError,
    /// A resource does not exist or conflicts with another (404/409).
    ResourceError,
    /// The caller sent too much; comes with `Retry-After` (429).
    RateLimitError,
    /// A dependency failed, was rejected by its guard or timed out (502/503/504).
    DependencyError,
    /// The request was understood but could not be processed (422).
    ProcessingError,
    /// A fault inside this process (500); the message never carries internals.
    SystemError,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `"VALIDATION_ERROR"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthError => "AUTH_ERROR",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::ResourceError => "RESOURCE_ERROR",
            Self::RateLimitError => "RATE_LIMIT_ERROR",
            Self::DependencyError => "DEPENDENCY_ERROR",
            Self::ProcessingError => "PROCESSING_ERROR",
            Self::SystemError => "SYSTEM_ERROR",
        }
    }

    /// Every code, in the order of the wire-format documentation.
    pub const ALL: [ErrorCode; 7] = [
        Self::AuthError,
        Self::ValidationError,
        Self::ResourceError,
        Self::RateLimitError,
        Self::DependencyError,
        Self::ProcessingError,
        Self::SystemError,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Field name → human-readable problem, shown under `details`.
pub type Details = BTreeMap<String, String>;

/// Which way a dependency failed, for `DEPENDENCY_ERROR`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyFailure {
    /// The upstream answered with an error or could not be reached (502).
    BadGateway,
    /// The guard rejected the call: circuit open or bulkhead full (503).
    Unavailable,
    /// The deadline passed before the upstream answered (504).
    Timeout,
}

/// An error inside a Bulwark process, on its way to becoming an [`ErrorResponse`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Authentication or authorisation failed.
    #[error("{message}")]
    Auth {
        /// Safe message for the caller.
        message: String,
        /// `true` for 403 (authenticated but not allowed), `false` for 401.
        forbidden: bool,
    },
    /// Input failed validation; `details` names the fields.
    #[error("{message}")]
    Validation {
        /// Safe message for the caller.
        message: String,
        /// Field → problem.
        details: Details,
    },
    /// A resource was not found (404) or conflicts (409).
    #[error("{message}")]
    Resource {
        /// Safe message for the caller.
        message: String,
        /// `true` for 409, `false` for 404.
        conflict: bool,
    },
    /// The caller is over its rate; retry after the given time.
    #[error("{message}")]
    RateLimited {
        /// Safe message for the caller.
        message: String,
        /// How long the caller should wait.
        retry_after: Duration,
    },
    /// A dependency failed or was not admitted.
    #[error("{message}")]
    Dependency {
        /// Safe message for the caller, e.g. "Dependency 'llm' unavailable".
        message: String,
        /// How it failed (decides 502/503/504).
        failure: DependencyFailure,
        /// Extra facts for the caller (which dependency, which bulkhead).
        details: Details,
        /// When the caller may try again, if known.
        retry_after: Option<Duration>,
        /// The cause, for the log (a guarded call's `CallError`); never sent.
        #[source]
        source: Option<BoxError>,
    },
    /// The request was understood but cannot be processed.
    #[error("{message}")]
    Processing {
        /// Safe message for the caller.
        message: String,
        /// Extra facts for the caller.
        details: Details,
    },
    /// The resource exists but does not support the request's method (405).
    #[error("Method not allowed")]
    MethodNotAllowed {
        /// The method the caller used, e.g. `DELETE`.
        method: String,
    },
    /// The request body is larger than the limit (413).
    #[error("Request body too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit_bytes: u64,
    },
    /// A fault inside the process. The source is logged, never sent.
    #[error("internal error: {source}")]
    System {
        /// The internal cause; kept for the log and the `source()` chain.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl ServiceError {
    /// A validation error for one field.
    pub fn validation_field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        let mut details = Details::new();
        details.insert(field.into(), problem.into());
        Self::Validation {
            message: "Validation error".to_owned(),
            details,
        }
    }

    /// A 404 for a missing resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Resource {
            message: message.into(),
            conflict: false,
        }
    }

    /// A 409 for a request that conflicts with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Resource {
            message: message.into(),
            conflict: true,
        }
    }

    /// A 401: the caller is not (validly) authenticated.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Auth {
            message: message.into(),
            forbidden: false,
        }
    }

    /// A 403: the caller is authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Auth {
            message: message.into(),
            forbidden: true,
        }
    }

    /// A 500 wrapping an internal cause that is logged but never sent.
    pub fn system(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::System {
            source: Box::new(source),
        }
    }

    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Auth { .. } => ErrorCode::AuthError,
            Self::Validation { .. } => ErrorCode::ValidationError,
            Self::Resource { .. } | Self::MethodNotAllowed { .. } => ErrorCode::ResourceError,
            Self::PayloadTooLarge { .. } => ErrorCode::ValidationError,
            Self::RateLimited { .. } => ErrorCode::RateLimitError,
            Self::Dependency { .. } => ErrorCode::DependencyError,
            Self::Processing { .. } => ErrorCode::ProcessingError,
            Self::System { .. } => ErrorCode::SystemError,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Auth {
                forbidden: false, ..
            } => 401,
            Self::Auth {
                forbidden: true, ..
            } => 403,
            Self::Validation { .. } => 400,
            Self::Resource {
                conflict: false, ..
            } => 404,
            Self::Resource { conflict: true, .. } => 409,
            Self::MethodNotAllowed { .. } => 405,
            Self::PayloadTooLarge { .. } => 413,
            Self::RateLimited { .. } => 429,
            Self::Dependency { failure, .. } => match failure {
                DependencyFailure::BadGateway => 502,
                DependencyFailure::Unavailable => 503,
                DependencyFailure::Timeout => 504,
            },
            Self::Processing { .. } => 422,
            Self::System { .. } => 500,
        }
    }

    /// Whether trying again later may succeed (rate limits and dependency failures).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Dependency { .. })
    }

    /// When the caller may retry, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Dependency { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// [`retry_after`](Self::retry_after) in whole seconds, rounded up so a caller never comes back
    /// early: the value of a `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after().map(|d| {
            let whole = d.as_secs();
            if d.subsec_nanos() > 0 {
                whole.saturating_add(1)
            } else {
                whole
            }
        })
    }

    /// The message that may be shown to a caller. A `SYSTEM_ERROR` shows a fixed text.
    pub fn public_message(&self) -> String {
        match self {
            Self::System { .. } => "Internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Details that may be shown to a caller.
    pub fn public_details(&self) -> Details {
        match self {
            Self::Validation { details, .. }
            | Self::Dependency { details, .. }
            | Self::Processing { details, .. } => details.clone(),
            Self::MethodNotAllowed { method } => Details::from([(
                "method".to_owned(),
                format!("{method} is not allowed on this resource"),
            )]),
            Self::PayloadTooLarge { limit_bytes } => Details::from([(
                "body".to_owned(),
                format!("must not be larger than {limit_bytes} bytes"),
            )]),
            _ => Details::new(),
        }
    }

    /// Builds the wire form for this error and correlation ID, stamped now.
    pub fn to_response(&self, correlation_id: &CorrelationId) -> ErrorResponse {
        ErrorResponse {
            error: true,
            status_code: self.status(),
            message: self.public_message(),
            details: self.public_details(),
            error_code: self.code(),
            correlation_id: correlation_id.to_string(),
            timestamp: Timestamp::now(),
        }
    }
}

/// A UTC instant serialised as RFC 3339 with microseconds and a `Z`, e.g.
/// `2026-11-28T14:40:22.123456Z`. It holds microsecond precision only (finer digits are
/// truncated on construction), so a timestamp equals itself after a trip over the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(chrono::DateTime<chrono::Utc>);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from(chrono::Utc::now())
    }

    /// The wrapped time.
    pub fn as_datetime(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(value: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::SubsecRound;
        Self(value.trunc_subsecs(6))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| Self::from(t.with_timezone(&chrono::Utc)))
            .map_err(serde::de::Error::custom)
    }
}

/// The JSON body of every error that leaves the process.
///
/// ```
/// use bulwark_runtime::correlation::CorrelationId;
/// use bulwark_runtime::error::ServiceError;
///
/// let id = CorrelationId::from_header(Some("req-42"));
/// let body = ServiceError::validation_field("text", "must not be empty").to_response(&id);
/// let json = serde_json::to_value(&body).unwrap();
/// assert_eq!(json["error"], true);
/// assert_eq!(json["status_code"], 400);
/// assert_eq!(json["error_code"], "VALIDATION_ERROR");
/// assert_eq!(json["details"]["text"], "must not be empty");
/// assert_eq!(json["correlation_id"], "req-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    /// Always `true`.
    pub error: bool,
    /// The HTTP status, repeated in the body.
    pub status_code: u16,
    /// A message safe to show to the caller.
    pub message: String,
    /// Field → problem; an empty object when there is nothing to say.
    pub details: Details,
    /// One of the seven codes.
    pub error_code: ErrorCode,
    /// The request's correlation ID.
    pub correlation_id: String,
    /// When the error was produced (RFC 3339, UTC, microseconds).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub timestamp: Timestamp,
}
