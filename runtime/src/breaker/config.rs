//! [`BreakerConfig`]: validated circuit-breaker settings, their builder and their TOML form.
//!
//! A config can only exist in a valid state: [`BreakerConfigBuilder::build`] and deserialization
//! both run the same checks, so a running breaker never holds bad settings.
//!
//! ```toml
//! [breaker]
//! window = { kind = "time", size = "60s", buckets = 60 }   # or { kind = "count", size = 100 }
//! failure_rate_threshold = 50.0
//! slow_call_rate_threshold = 100.0
//! slow_call_duration = "5s"
//! minimum_calls = 20
//! reset_timeout = "30s"
//! reset_backoff = { multiplier = 2.0, max = "5m" }        # optional
//! half_open_permits = 5
//! max_wait_in_half_open = "0s"                            # 0: wait for the trials' verdict
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::InvalidConfig;

/// The largest count window (calls) and the most buckets of a time window.
///
/// Bounds the memory a config can make the breaker allocate (one byte per call of a count
/// window, 24 bytes per bucket of a time window).
pub const MAX_WINDOW_SLOTS: u32 = 100_000;

/// The most trial calls a half-open round may admit.
pub const MAX_HALF_OPEN_PERMITS: u32 = 100_000;

/// The sliding window the failure and slow-call rates are computed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowKind {
    /// The last `size` calls.
    Count {
        /// Number of calls kept.
        size: u32,
    },
    /// The calls of the last `size` of time, kept in `buckets` equal buckets: a bucket is
    /// forgotten as a whole once it is older than `size`.
    Time {
        /// Span of the window.
        #[serde(with = "humantime_serde")]
        size: Duration,
        /// Number of buckets the span is split into (the window's time resolution).
        buckets: u32,
    },
}

impl WindowKind {
    fn validate(&self) -> Result<(), InvalidConfig> {
        match *self {
            WindowKind::Count { size } => {
                if size == 0 || size > MAX_WINDOW_SLOTS {
                    return Err(InvalidConfig::CountWindowSize {
                        size,
                        max: MAX_WINDOW_SLOTS,
                    });
                }
            }
            WindowKind::Time { size, buckets } => {
                let millis = size.as_millis();
                if millis == 0 || size.subsec_nanos() % 1_000_000 != 0 {
                    return Err(InvalidConfig::TimeWindowSize { size });
                }
                let max = u32::try_from(millis)
                    .unwrap_or(u32::MAX)
                    .min(MAX_WINDOW_SLOTS);
                if buckets == 0 || buckets > max {
                    return Err(InvalidConfig::TimeWindowBuckets { buckets, max });
                }
                if millis % u128::from(buckets) != 0 {
                    return Err(InvalidConfig::TimeWindowUneven { size, buckets });
                }
            }
        }
        Ok(())
    }
}

/// Growth of the reset timeout while the dependency stays down.
///
/// After the n-th consecutive opening (trial calls failed n − 1 times in a row) the circuit stays
/// open for `reset_timeout × multiplierⁿ⁻¹`, at most `max`. A successful trial resets the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBackoff {
    /// Factor applied per consecutive opening; at least 1.
    pub multiplier: f64,
    /// Longest reset timeout; at least `reset_timeout`.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
}

/// Validated settings of a [`CircuitBreaker`](super::CircuitBreaker).
///
/// Built with [`BreakerConfig::builder`] or deserialized (from TOML, JSON…); missing fields take
/// the seed defaults of [`BreakerConfig::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct BreakerConfig {
    window: WindowKind,
    failure_rate_threshold: f64,
    slow_call_rate_threshold: f64,
    slow_call_duration: Duration,
    minimum_calls: u32,
    reset_timeout: Duration,
    reset_backoff: Option<ResetBackoff>,
    half_open_permits: u32,
    max_wait_in_half_open: Duration,
}

impl Default for BreakerConfig {
    /// The seed defaults: a count window of 100 calls, trip at 50 % failures or 100 % slow calls
    /// (slow = 5 s, the default read timeout) once 20 calls were seen, stay open 30 s without
    /// backoff, then let 5 trial calls through.
    fn default() -> Self {
        Self {
            window: WindowKind::Count { size: 100 },
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: Duration::from_secs(5),
            minimum_calls: 20,
            reset_timeout: Duration::from_secs(30),
            reset_backoff: None,
            half_open_permits: 5,
            max_wait_in_half_open: Duration::ZERO,
        }
    }
}

impl BreakerConfig {
    /// A builder starting from the seed defaults.
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            config: Self::default(),
        }
    }

    /// A builder starting from these settings.
    pub fn to_builder(&self) -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            config: self.clone(),
        }
    }

    /// The sliding window.
    pub fn window(&self) -> &WindowKind {
        &self.window
    }

    /// Failure rate (percent, in (0, 100]) at or above which the circuit opens.
    pub fn failure_rate_threshold(&self) -> f64 {
        self.failure_rate_threshold
    }

    /// Slow-call rate (percent, in (0, 100]) at or above which the circuit opens.
    pub fn slow_call_rate_threshold(&self) -> f64 {
        self.slow_call_rate_threshold
    }

    /// A call lasting at least this long is slow, whether it succeeded or not.
    pub fn slow_call_duration(&self) -> Duration {
        self.slow_call_duration
    }

    /// Calls the window must hold before the rates are computed at all.
    pub fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }

    /// The minimum actually applied: for a count window of `size` calls,
    /// `min(minimum_calls, size)` (a window that can never hold `minimum_calls` would otherwise
    /// never trip); for a time window, `minimum_calls`.
    pub fn effective_minimum_calls(&self) -> u32 {
        match self.window {
            WindowKind::Count { size } => self.minimum_calls.min(size),
            WindowKind::Time { .. } => self.minimum_calls,
        }
    }

    /// How long the circuit stays open after its first opening.
    pub fn reset_timeout(&self) -> Duration {
        self.reset_timeout
    }

    /// Growth of the reset timeout while the dependency stays down, if any.
    pub fn reset_backoff(&self) -> Option<&ResetBackoff> {
        self.reset_backoff.as_ref()
    }

    /// Trial calls let through while half-open.
    pub fn half_open_permits(&self) -> u32 {
        self.half_open_permits
    }

    /// Longest a half-open round may wait for its verdict before the circuit opens again;
    /// zero (the default) waits as long as the trials take. A trial that is cancelled or
    /// ignored gives its place back, so a round cannot wedge on lost permits either way.
    pub fn max_wait_in_half_open(&self) -> Duration {
        self.max_wait_in_half_open
    }

    /// How long the circuit stays open after its `opens`-th consecutive opening (1 = first):
    /// `reset_timeout`, grown by [`ResetBackoff`] and capped at its `max` when configured.
    pub fn reset_timeout_for(&self, opens: u32) -> Duration {
        let Some(backoff) = &self.reset_backoff else {
            return self.reset_timeout;
        };
        let exponent = i32::try_from(opens.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.reset_timeout.as_secs_f64() * backoff.multiplier.powi(exponent);
        if secs.is_finite() && secs < backoff.max.as_secs_f64() {
            Duration::try_from_secs_f64(secs)
                .unwrap_or(backoff.max)
                .max(self.reset_timeout)
        } else {
            backoff.max
        }
    }

    fn validate(self) -> Result<Self, InvalidConfig> {
        self.window.validate()?;
        let in_range = |v: f64| v > 0.0 && v <= 100.0;
        if !in_range(self.failure_rate_threshold) {
            return Err(InvalidConfig::FailureRateThreshold {
                value: self.failure_rate_threshold,
            });
        }
        if !in_range(self.slow_call_rate_threshold) {
            return Err(InvalidConfig::SlowCallRateThreshold {
                value: self.slow_call_rate_threshold,
            });
        }
        if self.slow_call_duration.is_zero() {
            return Err(InvalidConfig::SlowCallDuration);
        }
        if self.minimum_calls == 0 {
            return Err(InvalidConfig::MinimumCalls { value: 0 });
        }
        if self.reset_timeout.is_zero() {
            return Err(InvalidConfig::ResetTimeout);
        }
        if self.half_open_permits == 0 || self.half_open_permits > MAX_HALF_OPEN_PERMITS {
            return Err(InvalidConfig::HalfOpenPermits {
                value: self.half_open_permits,
                max: MAX_HALF_OPEN_PERMITS,
            });
        }
        if let Some(backoff) = &self.reset_backoff {
            if !(backoff.multiplier.is_finite() && backoff.multiplier >= 1.0) {
                return Err(InvalidConfig::BackoffMultiplier {
                    value: backoff.multiplier,
                });
            }
            if backoff.max < self.reset_timeout {
                return Err(InvalidConfig::BackoffMax {
                    max: backoff.max,
                    reset_timeout: self.reset_timeout,
                });
            }
        }
        Ok(self)
    }
}

/// Builds a [`BreakerConfig`]; every setter takes a value, [`build`](Self::build) validates.
#[derive(Debug, Clone)]
#[must_use]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
}

impl BreakerConfigBuilder {
    /// See [`BreakerConfig::window`].
    pub fn window(mut self, window: WindowKind) -> Self {
        self.config.window = window;
        self
    }

    /// See [`BreakerConfig::failure_rate_threshold`].
    pub fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.config.failure_rate_threshold = percent;
        self
    }

    /// See [`BreakerConfig::slow_call_rate_threshold`].
    pub fn slow_call_rate_threshold(mut self, percent: f64) -> Self {
        self.config.slow_call_rate_threshold = percent;
        self
    }

    /// See [`BreakerConfig::slow_call_duration`].
    pub fn slow_call_duration(mut self, duration: Duration) -> Self {
        self.config.slow_call_duration = duration;
        self
    }

    /// See [`BreakerConfig::minimum_calls`].
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.config.minimum_calls = calls;
        self
    }

    /// See [`BreakerConfig::reset_timeout`].
    pub fn reset_timeout(mut self, timeout: Duration) -> Self {
        self.config.reset_timeout = timeout;
        self
    }

    /// See [`BreakerConfig::reset_backoff`]; takes a [`ResetBackoff`] or `None`.
    pub fn reset_backoff(mut self, backoff: impl Into<Option<ResetBackoff>>) -> Self {
        self.config.reset_backoff = backoff.into();
        self
    }

    /// See [`BreakerConfig::half_open_permits`].
    pub fn half_open_permits(mut self, permits: u32) -> Self {
        self.config.half_open_permits = permits;
        self
    }

    /// See [`BreakerConfig::max_wait_in_half_open`].
    pub fn max_wait_in_half_open(mut self, wait: Duration) -> Self {
        self.config.max_wait_in_half_open = wait;
        self
    }

    /// Checks every rule and returns the config, or the first rule broken.
    pub fn build(self) -> Result<BreakerConfig, InvalidConfig> {
        self.config.validate()
    }
}

/// The serialized form: every field optional (seed defaults), unknown fields refused.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    window: WindowKind,
    failure_rate_threshold: f64,
    slow_call_rate_threshold: f64,
    #[serde(with = "humantime_serde")]
    slow_call_duration: Duration,
    minimum_calls: u32,
    #[serde(with = "humantime_serde")]
    reset_timeout: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    reset_backoff: Option<ResetBackoff>,
    half_open_permits: u32,
    #[serde(with = "humantime_serde")]
    max_wait_in_half_open: Duration,
}

impl Default for RawConfig {
    fn default() -> Self {
        BreakerConfig::default().into()
    }
}

impl From<BreakerConfig> for RawConfig {
    fn from(c: BreakerConfig) -> Self {
        Self {
            window: c.window,
            failure_rate_threshold: c.failure_rate_threshold,
            slow_call_rate_threshold: c.slow_call_rate_threshold,
            slow_call_duration: c.slow_call_duration,
            minimum_calls: c.minimum_calls,
            reset_timeout: c.reset_timeout,
            reset_backoff: c.reset_backoff,
            half_open_permits: c.half_open_permits,
            max_wait_in_half_open: c.max_wait_in_half_open,
        }
    }
}

impl TryFrom<RawConfig> for BreakerConfig {
    type Error = InvalidConfig;

    fn try_from(r: RawConfig) -> Result<Self, InvalidConfig> {
        BreakerConfig {
            window: r.window,
            failure_rate_threshold: r.failure_rate_threshold,
            slow_call_rate_threshold: r.slow_call_rate_threshold,
            slow_call_duration: r.slow_call_duration,
            minimum_calls: r.minimum_calls,
            reset_timeout: r.reset_timeout,
            reset_backoff: r.reset_backoff,
            half_open_permits: r.half_open_permits,
            max_wait_in_half_open: r.max_wait_in_half_open,
        }
        .validate()
    }
}
