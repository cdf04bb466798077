//! [`InvalidRetryConfig`]: retry settings that cannot work.

use std::time::Duration;

/// A retry, backoff or budget setting out of range; refused when the value is built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRetryConfig {
    /// The backoff multiplier must be at least 1 (and finite).
    #[error("retry.backoff.multiplier must be a finite number >= 1.0, got {0}")]
    Multiplier(f64),
    /// The first delay must not exceed the cap.
    #[error("retry.backoff.initial ({initial:?}) must not exceed retry.backoff.max ({max:?})")]
    InitialAboveMax {
        /// The first delay.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
    /// The budget window must be between 1 s and 60 s.
    #[error("retry.budget.ttl must be within 1s..=60s, got {0:?}")]
    BudgetTtl(Duration),
    /// The retry ratio must be within 0–1000.
    #[error("retry.budget.retry_ratio must be within 0.0..=1000.0, got {0}")]
    RetryRatio(f32),
}
