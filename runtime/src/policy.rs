//! [`Policy`]: every resilience setting of one dependency, loadable from TOML.
//!
//! ```
//! use bulwark_runtime::policy::Policy;
//!
//! let policy = Policy::from_toml(r#"
//!     [breaker]
//!     failure_rate_threshold = 25.0
//!     reset_timeout = "10s"
//!
//!     [retry]
//!     max_retries = 2
//!
//!     [timeout]
//!     attempt = "1500ms"
//! "#).unwrap();
//! assert_eq!(policy.breaker.failure_rate_threshold(), 25.0);
//! assert_eq!(policy.retry.max_retries(), 2);
//! assert_eq!(policy.timeout.attempt.as_millis(), 1500);
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::breaker::BreakerConfig;
use crate::bulkhead::BulkheadConfig;
use crate::retry::RetryPolicy;
use crate::timeout::TimeoutPolicy;

/// All the settings of one dependency. Missing sections take the seed defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Circuit breaker.
    pub breaker: BreakerConfig,
    /// Bulkhead (concurrency and queue per priority).
    pub bulkhead: BulkheadConfig,
    /// Retries, backoff and retry budget.
    pub retry: RetryPolicy,
    /// Attempt, connect and read timeouts.
    pub timeout: TimeoutPolicy,
    /// Active health probing.
    pub probe: ProbePolicy,
}

/// How the owning actor probes a dependency whose circuit is half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawProbePolicy")]
pub struct ProbePolicy {
    /// Whether to probe at all (only dependencies that implement a probe are probed).
    pub enabled: bool,
    /// Pause between probes while half-open and idle.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawProbePolicy {
    enabled: bool,
    #[serde(with = "humantime_serde")]
    interval: Duration,
}

impl Default for RawProbePolicy {
    fn default() -> Self {
        let d = ProbePolicy::default();
        Self {
            enabled: d.enabled,
            interval: d.interval,
        }
    }
}

impl TryFrom<RawProbePolicy> for ProbePolicy {
    type Error = InvalidProbePolicy;
    fn try_from(raw: RawProbePolicy) -> Result<Self, Self::Error> {
        let policy = Self {
            enabled: raw.enabled,
            interval: raw.interval,
        };
        policy.validate()?;
        Ok(policy)
    }
}

impl Default for ProbePolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(1),
        }
    }
}

/// Probe settings that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProbePolicy {
    /// The interval is zero (the actor would probe in a loop) or longer than an hour.
    #[error("probe.interval must be between 1ms and 1h, got {interval:?}")]
    Interval {
        /// The refused interval.
        interval: Duration,
    },
}

impl ProbePolicy {
    /// Longest accepted pause between probes.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

    /// Checks the settings (also done when a policy is deserialized).
    pub fn validate(&self) -> Result<(), InvalidProbePolicy> {
        if self.interval < Duration::from_millis(1) || self.interval > Self::MAX_INTERVAL {
            return Err(InvalidProbePolicy::Interval {
                interval: self.interval,
            });
        }
        Ok(())
    }
}

/// A policy that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The TOML text is malformed or a value is out of range.
    #[error("invalid policy")]
    Toml(
        #[from]
        #[source]
        toml::de::Error,
    ),
}

impl Policy {
    /// Parses and validates a policy from TOML.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        Ok(toml::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_gives_seed_defaults() {
        let policy = Policy::from_toml("").unwrap();
        assert_eq!(policy, Policy::default());
        assert_eq!(policy.breaker.failure_rate_threshold(), 50.0);
        assert_eq!(policy.breaker.reset_timeout(), Duration::from_secs(30));
        assert_eq!(policy.retry.max_retries(), 3);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = Policy::from_toml("[breaker]\nfailure_rate_threshold = 150.0\n").unwrap_err();
        let text = crate::error::chain(&err).to_string();
        assert!(text.contains("failure_rate_threshold"), "{text}");
        assert!(Policy::from_toml("[timeout]\nattempt = \"0s\"\n").is_err());
        assert!(Policy::from_toml("[nonsense]\n").is_err());
        let err = Policy::from_toml("[probe]\ninterval = \"0s\"\n").unwrap_err();
        let text = crate::error::chain(&err).to_string();
        assert!(text.contains("probe.interval"), "{text}");
    }

    #[test]
    fn round_trips_through_toml() {
        let policy = Policy::default();
        let text = toml::to_string(&policy).unwrap();
        assert_eq!(Policy::from_toml(&text).unwrap(), policy);
    }
}
