//! [`DependencyError`]: a failed attempt, classified by what it means for retries and for the
//! circuit breaker.
//!
//! | kind | retried | counts against the breaker | example |
//! | --- | --- | --- | --- |
//! | [`Transient`](FailureKind::Transient) | yes | yes | connect refused, reset, timeout, 429, 5xx |
//! | [`Permanent`](FailureKind::Permanent) | no | yes | an unexpected 4xx, a malformed answer |
//! | [`RejectedRequest`](FailureKind::RejectedRequest) | no | no | 400, 404, 409, 422 caused by the caller's input |
//! | [`Unauthorized`](FailureKind::Unauthorized) | no | no | 401, 403: our credentials are refused |
//!
//! A burst of callers' bad requests therefore never opens the circuit for everyone (Resilience4j's
//! `ignoreExceptions`); an `Unauthorized` failure opens no breaker either (the dependency is up,
//! our key is wrong) but is counted in the dependency's snapshot so readiness can name it.

use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a failure means for retries and for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// May succeed on another attempt: connection refused or reset, timeout, 408, 429, 500,
    /// 502, 503, 504.
    Transient,
    /// Will fail again, and says something is wrong with the dependency: an unexpected status,
    /// a malformed answer.
    Permanent,
    /// The caller's fault (400, 404, 409, 422 from the caller's input): returned to the caller,
    /// never retried, ignored by the breaker.
    RejectedRequest,
    /// The dependency refused our credentials (401, 403): never retried, opens no breaker,
    /// counted in the snapshot.
    Unauthorized,
}

impl FailureKind {
    /// Whether the breaker counts this failure against the dependency.
    pub const fn counts_against_dependency(self) -> bool {
        matches!(self, Self::Transient | Self::Permanent)
    }

    /// The snake_case name used in metric labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::RejectedRequest => "rejected_request",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// A failed attempt, classified, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{} dependency failure", kind.as_str())]
pub struct DependencyError {
    kind: FailureKind,
    retry_after: Option<Duration>,
    /// `false` when the request certainly never reached the dependency (connect refused, an
    /// explicit "not processed" answer): repeating it cannot duplicate a side effect.
    may_have_reached: bool,
    #[source]
    source: BoxError,
}

impl DependencyError {
    fn new(kind: FailureKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            retry_after: None,
            may_have_reached: true,
            source: source.into(),
        }
    }

    /// A failure that may succeed when tried again.
    pub fn transient(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Transient, source)
    }

    /// A failure that will not succeed when tried again.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Permanent, source)
    }

    /// The caller's own fault: not retried, ignored by the breaker.
    pub fn rejected_request(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::RejectedRequest, source)
    }

    /// Our credentials were refused: not retried, opens no breaker, counted in the snapshot.
    pub fn unauthorized(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Unauthorized, source)
    }

    /// Classifies an HTTP status: 408, 429, 500, 502, 503 and 504 are transient; 400, 404,
    /// 409 and 422 the caller's fault; 401 and 403 unauthorized; every other status permanent.
    /// A 429 or 503 means the server refused to process the request, so it counts as never
    /// having reached it (safe to repeat even when not idempotent).
    pub fn from_status(status: u16, source: impl Into<BoxError>) -> Self {
        match status {
            429 | 503 => Self::transient(source).not_delivered(),
            408 | 500 | 502 | 504 => Self::transient(source),
            400 | 404 | 409 | 422 => Self::rejected_request(source),
            401 | 403 => Self::unauthorized(source),
            _ => Self::permanent(source),
        }
    }

    /// Adds the server's `Retry-After`; the retry policy waits at least that long.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Marks the request as certainly not having reached the dependency (connect refused,
    /// refused before processing): a retry cannot duplicate its side effects.
    pub fn not_delivered(mut self) -> Self {
        self.may_have_reached = false;
        self
    }

    /// What the failure means for retries and the breaker.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Transient
    }

    /// Whether the request may have reached the dependency before it failed.
    pub fn may_have_reached(&self) -> bool {
        self.may_have_reached
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The underlying cause.
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.source.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                DependencyError::from_status(s, "x").kind(),
                FailureKind::Transient,
                "{s}"
            );
        }
        for s in [400, 404, 409, 422] {
            let e = DependencyError::from_status(s, "x");
            assert_eq!(e.kind(), FailureKind::RejectedRequest, "{s}");
            assert!(!e.kind().counts_against_dependency());
        }
        for s in [401, 403] {
            assert_eq!(
                DependencyError::from_status(s, "x").kind(),
                FailureKind::Unauthorized
            );
        }
        for s in [405, 410, 413, 501, 505] {
            assert_eq!(
                DependencyError::from_status(s, "x").kind(),
                FailureKind::Permanent,
                "{s}"
            );
        }
        assert!(!DependencyError::from_status(503, "x").may_have_reached());
        assert!(DependencyError::from_status(504, "x").may_have_reached());
    }

    #[test]
    fn retry_after_is_kept() {
        let e = DependencyError::transient("busy").with_retry_after(Duration::from_secs(2));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.kind(), FailureKind::Transient);
    }

    #[test]
    fn the_cause_is_the_source() {
        let e = DependencyError::permanent("bad json");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("bad json"));
        assert_eq!(e.to_string(), "permanent dependency failure");
    }
}
