//! [`BulkheadConfig`]: limits per priority class.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Priority;
use super::adaptive::{AdaptiveAlgorithm, AdaptiveConfig};

/// Limits of one priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassLimits {
    /// Calls in flight at most.
    pub max_concurrent: u32,
    /// Callers waiting for a slot at most (0: reject at once when full).
    pub max_queue: u32,
}

/// Bulkhead limits that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBulkheadConfig {
    /// A class admits nothing.
    #[error("bulkhead.{priority}.max_concurrent must be at least 1")]
    NoConcurrency {
        /// The class.
        priority: Priority,
    },
    /// The adaptive floor is zero or above a class's maximum.
    #[error(
        "bulkhead.adaptive_floor must be between 1 and {priority}.max_concurrent ({max}), got {floor}"
    )]
    AdaptiveFloor {
        /// The floor.
        floor: u32,
        /// The class whose maximum is below it.
        priority: Priority,
        /// That maximum.
        max: u32,
    },
    /// An adaptive window needs at least one call.
    #[error("bulkhead.adaptive_min_samples must be at least 1")]
    AdaptiveSamples,
}

/// Limits of both classes and how long a caller may wait for a slot. Defaults: critical 32 in
/// flight + 32 waiting, non-critical 64 + 64 — critical work is rarer but must always find room;
/// each class has its own capacity — and a wait of at most 1 s (also never past the call's
/// deadline). Limits are fixed unless an adaptive algorithm is chosen ([`AdaptiveConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct BulkheadConfig {
    critical: ClassLimits,
    non_critical: ClassLimits,
    max_wait: Duration,
    adaptive: AdaptiveConfig,
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    critical: ClassLimits,
    non_critical: ClassLimits,
    #[serde(with = "humantime_serde")]
    max_wait: Duration,
    adaptive: AdaptiveAlgorithm,
    adaptive_floor: u32,
    #[serde(with = "humantime_serde")]
    adaptive_window: Duration,
    adaptive_min_samples: u32,
    #[serde(with = "humantime_serde")]
    adaptive_latency: Duration,
}

impl Default for RawConfig {
    fn default() -> Self {
        BulkheadConfig::default().into()
    }
}

impl From<BulkheadConfig> for RawConfig {
    fn from(c: BulkheadConfig) -> Self {
        Self {
            critical: c.critical,
            non_critical: c.non_critical,
            max_wait: c.max_wait,
            adaptive: c.adaptive.algorithm,
            adaptive_floor: c.adaptive.floor,
            adaptive_window: c.adaptive.window,
            adaptive_min_samples: c.adaptive.min_samples,
            adaptive_latency: c.adaptive.latency_threshold,
        }
    }
}

impl TryFrom<RawConfig> for BulkheadConfig {
    type Error = InvalidBulkheadConfig;
    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        BulkheadConfigBuilder {
            critical: raw.critical,
            non_critical: raw.non_critical,
            max_wait: raw.max_wait,
            adaptive: AdaptiveConfig {
                algorithm: raw.adaptive,
                floor: raw.adaptive_floor,
                window: raw.adaptive_window,
                min_samples: raw.adaptive_min_samples,
                latency_threshold: raw.adaptive_latency,
            },
        }
        .build()
    }
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        Self {
            critical: ClassLimits {
                max_concurrent: 32,
                max_queue: 32,
            },
            non_critical: ClassLimits {
                max_concurrent: 64,
                max_queue: 64,
            },
            max_wait: Duration::from_secs(1),
            adaptive: AdaptiveConfig::default(),
        }
    }
}

impl BulkheadConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> BulkheadConfigBuilder {
        let d = Self::default();
        BulkheadConfigBuilder {
            critical: d.critical,
            non_critical: d.non_critical,
            max_wait: d.max_wait,
            adaptive: d.adaptive,
        }
    }

    /// The adaptive-limit settings (off by default).
    pub fn adaptive(&self) -> &AdaptiveConfig {
        &self.adaptive
    }

    /// Longest a caller waits in the queue for a slot (it never waits past its deadline
    /// either); then it is refused as if the bulkhead were full.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The limits of `priority`.
    pub fn limits(&self, priority: Priority) -> ClassLimits {
        match priority {
            Priority::Critical => self.critical,
            Priority::NonCritical => self.non_critical,
        }
    }
}

/// Builds a validated [`BulkheadConfig`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct BulkheadConfigBuilder {
    critical: ClassLimits,
    non_critical: ClassLimits,
    max_wait: Duration,
    adaptive: AdaptiveConfig,
}

impl BulkheadConfigBuilder {
    /// Limits of the critical class.
    pub fn critical(mut self, limits: ClassLimits) -> Self {
        self.critical = limits;
        self
    }

    /// Limits of the non-critical class.
    pub fn non_critical(mut self, limits: ClassLimits) -> Self {
        self.non_critical = limits;
        self
    }

    /// See [`BulkheadConfig::max_wait`].
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Lets each class's limit follow latency (see [`AdaptiveConfig`]).
    pub fn adaptive(mut self, adaptive: AdaptiveConfig) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// Validates: each class admits at least one call; an adaptive floor lies between 1 and
    /// each class's maximum, and a window needs at least one call.
    pub fn build(self) -> Result<BulkheadConfig, InvalidBulkheadConfig> {
        let adaptive = self.adaptive;
        for (priority, limits) in [
            (Priority::Critical, self.critical),
            (Priority::NonCritical, self.non_critical),
        ] {
            if limits.max_concurrent == 0 {
                return Err(InvalidBulkheadConfig::NoConcurrency { priority });
            }
            if adaptive.is_on() && !(1..=limits.max_concurrent).contains(&adaptive.floor) {
                return Err(InvalidBulkheadConfig::AdaptiveFloor {
                    floor: adaptive.floor,
                    priority,
                    max: limits.max_concurrent,
                });
            }
        }
        if adaptive.is_on() && adaptive.min_samples == 0 {
            return Err(InvalidBulkheadConfig::AdaptiveSamples);
        }
        Ok(BulkheadConfig {
            critical: self.critical,
            non_critical: self.non_critical,
            max_wait: self.max_wait,
            adaptive,
        })
    }
}
