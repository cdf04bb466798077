//! The seam between the generic queue and what a job does: [`JobProcessor`].
//!
//! The queue hands a processor the texts of one claimed job and stores what it answers, one
//! result per text, as JSON. Whatever implements the trait — the rule-based analyzer today
//! ([`RuleBasedSentiment`](super::sentiment::RuleBasedSentiment)), the sentiment pipeline's
//! service with its model pool later — is plugged in with one line where the queue is started.

use std::future::Future;

use bulwark_runtime::dependency::CallContext;
use serde::Serialize;

/// Does the work of one job.
pub trait JobProcessor: Send + Sync + 'static {
    /// One result, stored as JSON and answered by `GET /v1/sentiment/jobs/{id}`.
    type Output: Serialize + Send;

    /// Processes `texts` (1..=256, each already checked and trimmed) and answers one output per
    /// text, in order. `ctx` carries the job's correlation ID, the non-critical priority and the
    /// try's deadline; pass it to every guarded call.
    fn process(
        &self,
        ctx: &CallContext,
        texts: &[String],
    ) -> impl Future<Output = Result<Vec<Self::Output>, ProcessError>> + Send;
}

/// A processor could not finish a job.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProcessError {
    /// Shown to the client when the job is marked failed: no internals.
    message: String,
    /// Whether another try may succeed (a dependency unavailable or timed out).
    transient: bool,
    /// The cause, for the log.
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ProcessError {
    /// A failure another try may not see (a dependency down, a deadline passed).
    pub fn transient(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            transient: true,
            source: Some(Box::new(source)),
        }
    }

    /// A failure another try may not see, with no cause to keep (a time limit passed).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
            source: None,
        }
    }

    /// A failure every try will see (the input cannot be processed).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
            source: None,
        }
    }

    /// Whether another try may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}
