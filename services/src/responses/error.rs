//! The response pipeline's errors: [`ResponseError`] (a request refused) and
//! [`ResponseStartError`] (the pipeline could not start).
//!
//! A provider that fails is not an error here: the template answers instead, marked degraded.
//! What reaches the caller is only what the caller can fix.

use bulwark_runtime::error::{Details, ServiceError};

use super::templates::TemplatesError;
use crate::upstream::{InvalidEndpoint, PoolStartError};

/// A request the pipeline refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// A field is not acceptable; `details` names every offending field.
    #[error("invalid input: {}", details.keys().cloned().collect::<Vec<_>>().join(", "))]
    Invalid {
        /// Field → problem (`message`, `customer_id`, `context`).
        details: Details,
    },
}

impl From<ResponseError> for ServiceError {
    /// 400 `VALIDATION_ERROR` with the field details.
    fn from(err: ResponseError) -> Self {
        match err {
            ResponseError::Invalid { details } => ServiceError::Validation {
                message: "Validation error".to_owned(),
                details,
            },
        }
    }
}

/// The response pipeline could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseStartError {
    /// The `[response]` settings are invalid.
    #[error(transparent)]
    Config(#[from] InvalidEndpoint),
    /// The templates file cannot be used.
    #[error("response templates")]
    Templates(#[from] TemplatesError),
    /// The provider pool could not be started.
    #[error("cannot start the response provider pool")]
    Pool(#[from] PoolStartError),
}
