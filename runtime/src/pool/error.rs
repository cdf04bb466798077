//! [`PoolError`]: why a pool call produced no response; [`InvalidPool`]: a pool that cannot be
//! built.

use std::sync::Arc;

use crate::dependency::{CallError, FailureKind};
use crate::error::{DependencyFailure, Details, ServiceError};
use crate::runtime::RuntimeError;

/// Why a call through a [`Pool`](super::Pool) failed. The last endpoint's [`CallError`] is kept
/// as the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// No endpoint could take the call: every circuit open or every bulkhead full (`last` is the
    /// last refusal; `None` when every endpoint was ejected before any was asked).
    #[error("no endpoint of pool '{pool}' is available")]
    Unavailable {
        /// The pool.
        pool: Arc<str>,
        /// The last refusal.
        #[source]
        last: Option<CallError>,
    },
    /// Endpoints were tried and failed, and no further endpoint could be tried (none left, the
    /// failure is not retryable, retries or the retry budget ran out).
    #[error("pool '{pool}' failed after {attempts} attempt(s)")]
    Failed {
        /// The pool.
        pool: Arc<str>,
        /// Endpoint calls made (refusals not counted).
        attempts: u32,
        /// The last endpoint's failure.
        #[source]
        last: CallError,
    },
    /// The call's deadline passed.
    #[error("pool '{pool}' ran out of time after {attempts} attempt(s)")]
    Timeout {
        /// The pool.
        pool: Arc<str>,
        /// Endpoint calls made.
        attempts: u32,
        /// The last endpoint's failure, if one ended before the deadline.
        #[source]
        last: Option<CallError>,
    },
}

impl PoolError {
    /// The pool's name.
    pub fn pool(&self) -> &str {
        match self {
            Self::Unavailable { pool, .. }
            | Self::Failed { pool, .. }
            | Self::Timeout { pool, .. } => pool,
        }
    }

    /// The last endpoint's error, if any endpoint answered or refused.
    pub fn last(&self) -> Option<&CallError> {
        match self {
            Self::Failed { last, .. } => Some(last),
            Self::Unavailable { last, .. } | Self::Timeout { last, .. } => last.as_ref(),
        }
    }

    /// The failure kind of the last attempt, when one was made and failed.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        self.last().and_then(CallError::failure_kind)
    }
}

impl From<PoolError> for ServiceError {
    /// Like a single dependency's errors: 503 when no endpoint was available, 504 on the
    /// deadline, 502 when endpoints failed — except a request the endpoint rejected as the
    /// caller's fault, which is the caller's 422. The `PoolError` stays on the `source()` chain.
    fn from(err: PoolError) -> Self {
        if let PoolError::Failed { last, .. } = &err
            && last.failure_kind() == Some(FailureKind::RejectedRequest)
        {
            let mut details = Details::new();
            details.insert("dependency".to_owned(), err.pool().to_owned());
            return ServiceError::Processing {
                message: "Dependency rejected the request".to_owned(),
                details,
            };
        }
        let (failure, message) = match &err {
            PoolError::Unavailable { .. } => (
                DependencyFailure::Unavailable,
                "Dependency unavailable: no endpoint available",
            ),
            PoolError::Timeout { .. } => (DependencyFailure::Timeout, "Dependency timed out"),
            PoolError::Failed { .. } => (DependencyFailure::BadGateway, "Dependency failed"),
        };
        let retry_after = match err.last() {
            Some(CallError::CircuitOpen { retry_after, .. }) => *retry_after,
            Some(CallError::Failed { last, .. }) => last.retry_after(),
            _ => None,
        };
        let mut details = Details::new();
        details.insert("dependency".to_owned(), err.pool().to_owned());
        ServiceError::Dependency {
            message: message.to_owned(),
            failure,
            details,
            retry_after,
            source: Some(Box::new(err)),
        }
    }
}

/// A pool that cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPool {
    /// The pool has no endpoint.
    #[error("pool '{0}' has no endpoint")]
    NoEndpoints(String),
    /// More endpoints than a pool supports.
    #[error("pool '{pool}' has {count} endpoints; at most {max} are supported")]
    TooManyEndpoints {
        /// The pool.
        pool: String,
        /// Endpoints given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two endpoints share a name.
    #[error("pool '{pool}' has two endpoints named '{endpoint}'")]
    DuplicateEndpoint {
        /// The pool.
        pool: String,
        /// The name.
        endpoint: String,
    },
    /// The hedging settings cannot work.
    #[error("invalid hedging settings")]
    Hedging(#[source] super::hedge::InvalidHedging),
    /// The pool's retry settings cannot work.
    #[error("invalid retry settings")]
    Retry(#[source] crate::retry::InvalidRetryConfig),
    /// An endpoint could not be registered with the runtime.
    #[error("endpoint could not be registered")]
    Runtime(#[source] RuntimeError),
}
