//! What a user implements: the [`Dependency`] trait and its error type.

use std::future::Future;
use std::time::Duration;

use super::context::CallContext;

/// One external thing a service calls: an LLM provider, an inference endpoint, a database.
///
/// Implementations are shared by all callers (`&self`), so keep per-call state in the request.
/// A call returns a [`DependencyError`] that says whether trying again may help.
pub trait Dependency: Send + Sync + 'static {
    /// What a call sends. Cloned once per attempt that may be retried, so keep it cheap to clone
    /// (`Arc`, `bytes::Bytes`, small values).
    type Request: Clone + Send + Sync + 'static;
    /// What a successful call returns.
    type Response: Send + Sync + 'static;

    /// Performs one attempt. The guard around it enforces the deadline in `ctx`; the attempt
    /// itself does not need to.
    fn call(
        &self,
        req: Self::Request,
        ctx: &CallContext,
    ) -> impl Future<Output = Result<Self::Response, DependencyError>> + Send;

    /// A cheap health check run by the owning actor while the circuit is half-open and no traffic
    /// arrives, so recovery is noticed without waiting for a caller. The default has no probe.
    fn probe(&self, ctx: &CallContext) -> impl Future<Output = Probe> + Send {
        let _ = ctx;
        std::future::ready(Probe::Unsupported)
    }

    /// Called by the owning actor when it starts again after a crash: drop cached connections or
    /// other client state that the crash may have left broken. The default does nothing.
    fn reset(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The result of a [`Dependency::probe`].
#[derive(Debug)]
pub enum Probe {
    /// The dependency answered the health check.
    Healthy,
    /// The health check failed.
    Unhealthy(DependencyError),
    /// This dependency has no health check.
    Unsupported,
}

/// Whether a failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// May succeed on another attempt: connection refused or reset, timeout, 429, 502, 503, 504.
    Transient,
    /// Will fail again: 4xx, validation, business rule.
    Permanent,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed attempt, classified as transient or permanent, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?} dependency failure: {source}")]
pub struct DependencyError {
    kind: FailureKind,
    retry_after: Option<Duration>,
    #[source]
    source: BoxError,
}

impl DependencyError {
    /// A failure that may succeed when tried again.
    pub fn transient(source: impl Into<BoxError>) -> Self {
        Self {
            kind: FailureKind::Transient,
            retry_after: None,
            source: source.into(),
        }
    }

    /// A failure that will not succeed when tried again.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        Self {
            kind: FailureKind::Permanent,
            retry_after: None,
            source: source.into(),
        }
    }

    /// Classifies an HTTP status the way DESIGN.md does: 408, 429, 502, 503 and 504 are transient,
    /// every other status is permanent.
    pub fn from_status(status: u16, source: impl Into<BoxError>) -> Self {
        if matches!(status, 408 | 429 | 502 | 503 | 504) {
            Self::transient(source)
        } else {
            Self::permanent(source)
        }
    }

    /// Adds the server's `Retry-After`; the retry policy waits at least that long.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Transient or permanent.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Transient
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
        for s in [408, 429, 502, 503, 504] {
            assert!(DependencyError::from_status(s, "x").is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 500, 501] {
            assert!(!DependencyError::from_status(s, "x").is_transient(), "{s}");
        }
    }

    #[test]
    fn retry_after_is_kept() {
        let e = DependencyError::transient("busy").with_retry_after(Duration::from_secs(2));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.kind(), FailureKind::Transient);
    }
}
