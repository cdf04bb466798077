//! The sentiment pipeline's errors: [`SentimentError`] (a request refused) and
//! [`SentimentStartError`] (the pipeline could not start).
//!
//! A model that fails is not an error here: the rule-based analyzer answers instead, marked
//! degraded. What reaches the caller is only what the caller can fix.

use bulwark_runtime::error::{Details, ServiceError};

use crate::upstream::{InvalidEndpoint, PoolStartError};

/// A request the pipeline refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SentimentError {
    /// A text (or the batch) is not acceptable; `details` names every offending field.
    #[error("invalid input: {}", details.keys().cloned().collect::<Vec<_>>().join(", "))]
    Invalid {
        /// Field → problem (`text`, `texts`, `texts[3]`, …).
        details: Details,
    },
}

impl From<SentimentError> for ServiceError {
    /// 400 `VALIDATION_ERROR` with the field details.
    fn from(err: SentimentError) -> Self {
        match err {
            SentimentError::Invalid { details } => ServiceError::Validation {
                message: "Validation error".to_owned(),
                details,
            },
        }
    }
}

/// The sentiment pipeline could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SentimentStartError {
    /// The `[sentiment]` settings are invalid.
    #[error(transparent)]
    Config(#[from] InvalidEndpoint),
    /// The model pool could not be started.
    #[error("cannot start the sentiment model pool")]
    Pool(#[from] PoolStartError),
}
