//! [`CallError`]: why a guarded call did not produce a response.

use std::sync::Arc;
use std::time::Duration;

use crate::breaker::State;
use crate::bulkhead::Priority;
use crate::error::{DependencyFailure, Details, ServiceError};
use crate::retry::GiveUpReason;

use super::failure::{DependencyError, FailureKind};

/// Why a call through a [`DependencyHandle`](super::DependencyHandle) failed. Each variant keeps
/// its cause; `From<CallError> for ServiceError` maps it onto the wire format (503 for rejections,
/// 504 for timeouts, 502 for upstream failures).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The circuit is open (or forced open): the call was not attempted.
    #[error("circuit of dependency '{dependency}' is {state}")]
    CircuitOpen {
        /// Which dependency.
        dependency: Arc<str>,
        /// Open, half-open without free trial permits, or forced open.
        state: State,
        /// When the breaker will let a trial call through, if known.
        retry_after: Option<Duration>,
    },
    /// The bulkhead for the call's priority was full, or the wait in its queue ran out.
    #[error("bulkhead of dependency '{dependency}' is full ({priority})")]
    BulkheadFull {
        /// Which dependency.
        dependency: Arc<str>,
        /// Which bulkhead class.
        priority: Priority,
    },
    /// The deadline passed before the dependency answered.
    #[error("call to dependency '{dependency}' timed out after {attempts} attempt(s)")]
    Timeout {
        /// Which dependency.
        dependency: Arc<str>,
        /// Attempts made.
        attempts: u32,
    },
    /// The dependency failed and no (further) retry was allowed.
    #[error("call to dependency '{dependency}' failed after {attempts} attempt(s) ({reason})")]
    Failed {
        /// Which dependency.
        dependency: Arc<str>,
        /// Attempts made.
        attempts: u32,
        /// Why the retry loop stopped.
        reason: StopReason,
        /// The last attempt's error.
        #[source]
        last: DependencyError,
    },
    /// The dependency's code panicked; its owning actor is restarted.
    #[error("dependency '{dependency}' panicked")]
    Panicked {
        /// Which dependency.
        dependency: Arc<str>,
    },
}

/// Why the retry loop gave up after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The retry policy said no.
    Policy(GiveUpReason),
    /// The retry budget is spent: retries would amplify an outage.
    BudgetExhausted,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Policy(reason) => write!(f, "{reason}"),
            Self::BudgetExhausted => f.write_str("retry budget exhausted"),
        }
    }
}

impl CallError {
    /// The dependency's name.
    pub fn dependency(&self) -> &str {
        match self {
            Self::CircuitOpen { dependency, .. }
            | Self::BulkheadFull { dependency, .. }
            | Self::Timeout { dependency, .. }
            | Self::Failed { dependency, .. }
            | Self::Panicked { dependency } => dependency,
        }
    }

    /// Whether the call was refused before any attempt (open circuit, full bulkhead).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::CircuitOpen { .. } | Self::BulkheadFull { .. })
    }

    /// The label of `bulwark_calls_total{outcome}` this error counts under.
    pub fn outcome_label(&self) -> &'static str {
        match self {
            Self::CircuitOpen { .. } => "circuit_open",
            Self::BulkheadFull { .. } => "bulkhead_full",
            Self::Timeout { .. } => "timeout",
            Self::Failed { last, .. } => match last.kind() {
                FailureKind::RejectedRequest => "rejected_request",
                FailureKind::Unauthorized => "unauthorized",
                FailureKind::Transient | FailureKind::Permanent => "failure",
            },
            Self::Panicked { .. } => "panic",
        }
    }

    /// The failure kind of the last attempt, when the call was attempted and failed.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            Self::Failed { last, .. } => Some(last.kind()),
            _ => None,
        }
    }
}

impl From<CallError> for ServiceError {
    /// 503 for refusals (open circuit, full bulkhead), 504 for timeouts, 502 for upstream
    /// failures; a request the dependency rejected as the caller's fault is a 422
    /// `PROCESSING_ERROR`. The `CallError` stays on the `source()` chain for the log.
    fn from(err: CallError) -> Self {
        let mut details = Details::new();
        details.insert("dependency".to_owned(), err.dependency().to_owned());
        let (failure, retry_after, message) = match &err {
            CallError::CircuitOpen {
                state, retry_after, ..
            } => {
                details.insert("circuit".to_owned(), state.as_str().to_owned());
                (
                    DependencyFailure::Unavailable,
                    *retry_after,
                    "Dependency unavailable: circuit open",
                )
            }
            CallError::BulkheadFull { priority, .. } => {
                details.insert("bulkhead".to_owned(), priority.as_str().to_owned());
                (
                    DependencyFailure::Unavailable,
                    None,
                    "Dependency unavailable: bulkhead full",
                )
            }
            CallError::Timeout { .. } => (DependencyFailure::Timeout, None, "Dependency timed out"),
            CallError::Failed { last, .. } if last.kind() == FailureKind::RejectedRequest => {
                return ServiceError::Processing {
                    message: "Dependency rejected the request".to_owned(),
                    details,
                };
            }
            CallError::Failed { last, reason, .. } => {
                details.insert("reason".to_owned(), reason.to_string());
                (
                    DependencyFailure::BadGateway,
                    last.retry_after(),
                    "Dependency failed",
                )
            }
            CallError::Panicked { .. } => {
                (DependencyFailure::BadGateway, None, "Dependency failed")
            }
        };
        ServiceError::Dependency {
            message: message.to_owned(),
            failure,
            details,
            retry_after,
            source: Some(Box::new(err)),
        }
    }
}
