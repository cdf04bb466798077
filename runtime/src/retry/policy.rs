//! [`RetryPolicy`]: whether and when to retry a failed attempt.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Backoff, BudgetConfig, ExponentialBackoff, InvalidRetryConfig};

/// What the policy needs to know about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryableFailure {
    /// Whether another attempt may succeed.
    pub transient: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
    /// Whether another attempt cannot duplicate a side effect: the request is idempotent, or
    /// this attempt certainly never reached the dependency.
    pub repeat_safe: bool,
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait `delay`, then try again (if the budget allows).
    Retry {
        /// How long to wait.
        delay: Duration,
    },
    /// Stop.
    GiveUp(GiveUpReason),
}

/// Why the policy stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUpReason {
    /// The failure is not worth retrying (permanent, the caller's fault, refused credentials).
    Permanent,
    /// The request is not idempotent and may have reached the dependency: repeating it could
    /// duplicate its side effects.
    NotIdempotent,
    /// `max_retries` retries were made.
    MaxRetries,
    /// Waiting would pass the caller's deadline.
    DeadlineTooClose,
    /// The server asked for a wait longer than `max_retry_after`.
    RetryAfterTooLong,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Permanent => "failure not retryable",
            Self::NotIdempotent => "not idempotent and may have reached the dependency",
            Self::MaxRetries => "retries exhausted",
            Self::DeadlineTooClose => "deadline too close to retry",
            Self::RetryAfterTooLong => "server asked to wait too long",
        })
    }
}

/// Retry settings of one dependency. Seed defaults: 3 retries, 100 ms ×2 up to 2 s plus 0–100 ms
/// jitter, a 20 % budget, `Retry-After` honoured up to 30 s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPolicy", into = "RawPolicy")]
pub struct RetryPolicy {
    max_retries: u32,
    backoff: ExponentialBackoff,
    budget: BudgetConfig,
    max_retry_after: Duration,
    retry_non_idempotent: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawPolicy {
    max_retries: u32,
    backoff: ExponentialBackoff,
    budget: BudgetConfig,
    #[serde(with = "humantime_serde")]
    max_retry_after: Duration,
    retry_non_idempotent: bool,
}

impl Default for RawPolicy {
    fn default() -> Self {
        RetryPolicy::default().into()
    }
}

impl From<RetryPolicy> for RawPolicy {
    fn from(p: RetryPolicy) -> Self {
        Self {
            max_retries: p.max_retries,
            backoff: p.backoff,
            budget: p.budget,
            max_retry_after: p.max_retry_after,
            retry_non_idempotent: p.retry_non_idempotent,
        }
    }
}

impl TryFrom<RawPolicy> for RetryPolicy {
    type Error = InvalidRetryConfig;
    fn try_from(raw: RawPolicy) -> Result<Self, Self::Error> {
        raw.budget.validate()?;
        Ok(Self {
            max_retries: raw.max_retries,
            backoff: raw.backoff,
            budget: raw.budget,
            max_retry_after: raw.max_retry_after,
            retry_non_idempotent: raw.retry_non_idempotent,
        })
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: ExponentialBackoff::default(),
            budget: BudgetConfig::default(),
            max_retry_after: Duration::from_secs(30),
            retry_non_idempotent: false,
        }
    }
}

/// Builds a validated [`RetryPolicy`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RetryPolicyBuilder(RetryPolicy);

impl RetryPolicyBuilder {
    /// Retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.0.max_retries = n;
        self
    }

    /// The backoff between attempts.
    pub fn backoff(mut self, backoff: ExponentialBackoff) -> Self {
        self.0.backoff = backoff;
        self
    }

    /// The retry budget.
    pub fn budget(mut self, budget: BudgetConfig) -> Self {
        self.0.budget = budget;
        self
    }

    /// The longest server `Retry-After` honoured.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.0.max_retry_after = d;
        self
    }

    /// Whether failures of non-idempotent requests that may have reached the dependency
    /// (a timeout, a reset after sending) are retried too (default `false`).
    pub fn retry_non_idempotent(mut self, allow: bool) -> Self {
        self.0.retry_non_idempotent = allow;
        self
    }

    /// Validates and returns the policy.
    pub fn build(self) -> Result<RetryPolicy, InvalidRetryConfig> {
        self.0.budget.validate()?;
        Ok(self.0)
    }
}

impl RetryPolicy {
    /// A builder starting from the seed defaults.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder(Self::default())
    }

    /// A policy that never retries.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff.
    pub fn backoff(&self) -> &ExponentialBackoff {
        &self.backoff
    }

    /// The budget settings.
    pub fn budget_config(&self) -> &BudgetConfig {
        &self.budget
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Whether non-idempotent requests are retried after failures that may have reached the
    /// dependency.
    pub fn retries_non_idempotent(&self) -> bool {
        self.retry_non_idempotent
    }

    /// Decides after attempt number `attempt` (1-based) failed, with `time_left` before the
    /// caller's deadline (`None`: no deadline).
    pub fn decide(
        &self,
        attempt: u32,
        failure: RetryableFailure,
        time_left: Option<Duration>,
    ) -> RetryDecision {
        if !failure.transient {
            return RetryDecision::GiveUp(GiveUpReason::Permanent);
        }
        if !failure.repeat_safe && !self.retry_non_idempotent {
            return RetryDecision::GiveUp(GiveUpReason::NotIdempotent);
        }
        if attempt > self.max_retries {
            return RetryDecision::GiveUp(GiveUpReason::MaxRetries);
        }
        let mut delay = self.backoff.delay(attempt);
        if let Some(asked) = failure.retry_after {
            if asked > self.max_retry_after {
                return RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong);
            }
            delay = delay.max(asked);
        }
        if time_left.is_some_and(|left| delay >= left) {
            return RetryDecision::GiveUp(GiveUpReason::DeadlineTooClose);
        }
        RetryDecision::Retry { delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: RetryableFailure = RetryableFailure {
        transient: true,
        retry_after: None,
        repeat_safe: true,
    };

    #[test]
    fn permanent_failures_are_never_retried() {
        let p = RetryPolicy::default();
        let f = RetryableFailure {
            transient: false,
            retry_after: None,
            repeat_safe: true,
        };
        assert_eq!(
            p.decide(1, f, None),
            RetryDecision::GiveUp(GiveUpReason::Permanent)
        );
    }

    #[test]
    fn stops_after_max_retries() {
        let p = RetryPolicy::default();
        for attempt in 1..=3 {
            assert!(matches!(
                p.decide(attempt, T, None),
                RetryDecision::Retry { .. }
            ));
        }
        assert_eq!(
            p.decide(4, T, None),
            RetryDecision::GiveUp(GiveUpReason::MaxRetries)
        );
        assert_eq!(
            RetryPolicy::disabled().decide(1, T, None),
            RetryDecision::GiveUp(GiveUpReason::MaxRetries)
        );
    }

    #[test]
    fn never_waits_past_the_deadline() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, T, Some(Duration::from_millis(50))),
            RetryDecision::GiveUp(GiveUpReason::DeadlineTooClose)
        );
        assert!(matches!(
            p.decide(1, T, Some(Duration::from_millis(201))),
            RetryDecision::Retry { .. }
        ));
    }

    #[test]
    fn honours_retry_after_within_limit() {
        let p = RetryPolicy::default();
        let f = RetryableFailure {
            transient: true,
            retry_after: Some(Duration::from_secs(3)),
            repeat_safe: true,
        };
        assert_eq!(
            p.decide(1, f, None),
            RetryDecision::Retry {
                delay: Duration::from_secs(3)
            }
        );
        let too_long = RetryableFailure {
            transient: true,
            retry_after: Some(Duration::from_secs(60)),
            repeat_safe: true,
        };
        assert_eq!(
            p.decide(1, too_long, None),
            RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn toml_defaults_and_validation() {
        let p: RetryPolicy =
            toml::from_str("max_retries = 5\n[backoff]\ninitial = \"10ms\"\n").unwrap();
        assert_eq!(p.max_retries(), 5);
        assert_eq!(p.backoff().initial(), Duration::from_millis(10));
        assert_eq!(p.backoff().max(), Duration::from_secs(2));
        assert!(toml::from_str::<RetryPolicy>("[budget]\nttl = \"5ms\"\n").is_err());
        let text = toml::to_string(&RetryPolicy::default()).unwrap();
        assert_eq!(
            toml::from_str::<RetryPolicy>(&text).unwrap(),
            RetryPolicy::default()
        );
    }
}
