//! Errors of the circuit breaker: settings refused when built, and broken internal invariants.

use std::time::Duration;

/// A [`BreakerConfig`](super::BreakerConfig) that cannot be built: one variant per rule.
///
/// The message names the offending field (as it is spelled in TOML) and the allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidConfig {
    /// `failure_rate_threshold` outside (0, 100].
    #[error("failure_rate_threshold must be a percentage in (0, 100], got {value}")]
    FailureRateThreshold {
        /// The refused value.
        value: f64,
    },
    /// `slow_call_rate_threshold` outside (0, 100].
    #[error("slow_call_rate_threshold must be a percentage in (0, 100], got {value}")]
    SlowCallRateThreshold {
        /// The refused value.
        value: f64,
    },
    /// `slow_call_duration` is zero (every call would be slow).
    #[error("slow_call_duration must be greater than 0")]
    SlowCallDuration,
    /// `minimum_calls` is zero.
    #[error("minimum_calls must be at least 1, got {value}")]
    MinimumCalls {
        /// The refused value.
        value: u32,
    },
    /// A count window whose `size` is zero or too large.
    #[error("window.size of a count window must be in 1..={max} calls, got {size}")]
    CountWindowSize {
        /// The refused size.
        size: u32,
        /// The largest size allowed.
        max: u32,
    },
    /// A time window whose `size` is zero or not a whole number of milliseconds.
    #[error(
        "window.size of a time window must be a positive whole number of milliseconds, got {size:?}"
    )]
    TimeWindowSize {
        /// The refused size.
        size: Duration,
    },
    /// A time window with too few or too many buckets.
    #[error(
        "window.buckets of a time window must be in 1..={max} (at most one bucket per millisecond \
         of window.size), got {buckets}"
    )]
    TimeWindowBuckets {
        /// The refused bucket count.
        buckets: u32,
        /// The largest count allowed for this size.
        max: u32,
    },
    /// A time window whose size does not split into equal whole-millisecond buckets.
    #[error(
        "window.size ({size:?}) must split into window.buckets ({buckets}) equal buckets of a whole \
         number of milliseconds"
    )]
    TimeWindowUneven {
        /// The window size.
        size: Duration,
        /// The bucket count.
        buckets: u32,
    },
    /// `reset_timeout` is zero.
    #[error("reset_timeout must be greater than 0")]
    ResetTimeout,
    /// `half_open_permits` is zero or too large.
    #[error("half_open_permits must be between 1 and {max}, got {value}")]
    HalfOpenPermits {
        /// The refused value.
        value: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// `reset_backoff.multiplier` below 1 or not finite.
    #[error("reset_backoff.multiplier must be a finite number >= 1.0, got {value}")]
    BackoffMultiplier {
        /// The refused value.
        value: f64,
    },
    /// `reset_backoff.max` shorter than `reset_timeout`.
    #[error("reset_backoff.max ({max:?}) must be >= reset_timeout ({reset_timeout:?})")]
    BackoffMax {
        /// The refused cap.
        max: Duration,
        /// The reset timeout it must not undercut.
        reset_timeout: Duration,
    },
}

/// An internal invariant of a [`CircuitBreaker`](super::CircuitBreaker) that does not hold.
///
/// Returned by [`CircuitBreaker::check_invariants`](super::CircuitBreaker::check_invariants);
/// seeing one is a bug in the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker invariant broken: {what}")]
pub struct InvariantViolation {
    /// Which invariant.
    pub what: &'static str,
}

impl InvariantViolation {
    pub(crate) const fn new(what: &'static str) -> Self {
        Self { what }
    }
}
