//! [`Backoff`] and [`ExponentialBackoff`].

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::InvalidRetryConfig;

/// How long to wait before a retry.
pub trait Backoff: Send + Sync {
    /// The delay before retry number `retry` (1 = the first retry).
    fn delay(&self, retry: u32) -> Duration;
}

/// `min(initial × multiplier^(retry−1), max)` plus a uniform random jitter in `[0, jitter]`.
///
/// The jitter is additive, as the seed specifies ("jitter 0–100 ms"), so every delay lies in
/// `[base, base + jitter]`: callers that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBackoff", into = "RawBackoff")]
pub struct ExponentialBackoff {
    initial: Duration,
    multiplier: f64,
    max: Duration,
    jitter: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawBackoff {
    #[serde(with = "humantime_serde")]
    initial: Duration,
    multiplier: f64,
    #[serde(with = "humantime_serde")]
    max: Duration,
    #[serde(with = "humantime_serde")]
    jitter: Duration,
}

impl Default for RawBackoff {
    fn default() -> Self {
        ExponentialBackoff::default().into()
    }
}

impl From<ExponentialBackoff> for RawBackoff {
    fn from(b: ExponentialBackoff) -> Self {
        Self {
            initial: b.initial,
            multiplier: b.multiplier,
            max: b.max,
            jitter: b.jitter,
        }
    }
}

impl TryFrom<RawBackoff> for ExponentialBackoff {
    type Error = InvalidRetryConfig;
    fn try_from(raw: RawBackoff) -> Result<Self, Self::Error> {
        Self::new(raw.initial, raw.multiplier, raw.max, raw.jitter)
    }
}

impl Default for ExponentialBackoff {
    /// The seed: 100 ms, ×2, capped at 2 s, 0–100 ms jitter.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max: Duration::from_secs(2),
            jitter: Duration::from_millis(100),
        }
    }
}

impl ExponentialBackoff {
    /// A validated backoff: `multiplier` finite and `>= 1`, `initial <= max`. Every delay then
    /// lies in `[base_delay(retry), base_delay(retry) + jitter]`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bulwark_runtime::retry::{Backoff, ExponentialBackoff};
    ///
    /// let ms = Duration::from_millis;
    /// let b = ExponentialBackoff::new(ms(100), 2.0, ms(2_000), ms(100)).unwrap();
    /// assert_eq!(b.base_delay(3), ms(400));
    /// assert_eq!(b.base_delay(u32::MAX), ms(2_000));
    /// assert!((ms(400)..=ms(500)).contains(&b.delay(3)));
    /// assert!(ExponentialBackoff::new(ms(100), 0.5, ms(2_000), ms(0)).is_err());
    /// ```
    pub fn new(
        initial: Duration,
        multiplier: f64,
        max: Duration,
        jitter: Duration,
    ) -> Result<Self, InvalidRetryConfig> {
        if !multiplier.is_finite() || multiplier < 1.0 {
            return Err(InvalidRetryConfig::Multiplier(multiplier));
        }
        if initial > max {
            return Err(InvalidRetryConfig::InitialAboveMax { initial, max });
        }
        Ok(Self {
            initial,
            multiplier,
            max,
            jitter,
        })
    }

    /// The delay before retry `retry` without jitter: never above `max`, never overflowing.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1).min(1_000)).unwrap_or(1_000);
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::try_from_secs_f64(secs).map_or(self.max, |d| d.min(self.max))
    }

    /// The largest jitter added.
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// The cap before jitter.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The first delay.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The growth factor.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }
}

impl Backoff for ExponentialBackoff {
    fn delay(&self, retry: u32) -> Duration {
        let base = self.base_delay(retry);
        if self.jitter.is_zero() {
            return base;
        }
        base.saturating_add(rand::rng().random_range(Duration::ZERO..=self.jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn seed_delays_double_and_cap() {
        let b = ExponentialBackoff::default();
        let bases: Vec<u128> = (1..=7).map(|r| b.base_delay(r).as_millis()).collect();
        assert_eq!(bases, [100, 200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn jittered_delay_stays_in_range() {
        let b = ExponentialBackoff::default();
        for retry in 1..=8 {
            let base = b.base_delay(retry);
            for _ in 0..200 {
                let d = b.delay(retry);
                assert!(d >= base && d <= base + ms(100), "{d:?} for retry {retry}");
            }
        }
    }

    #[test]
    fn invalid_settings_are_refused() {
        assert_eq!(
            ExponentialBackoff::new(ms(1), 0.5, ms(10), ms(0)),
            Err(InvalidRetryConfig::Multiplier(0.5))
        );
        assert!(ExponentialBackoff::new(ms(100), 2.0, ms(10), ms(0)).is_err());
        assert!(ExponentialBackoff::new(ms(1), f64::NAN, ms(10), ms(0)).is_err());
    }

    #[test]
    fn toml_round_trip_with_humantime() {
        let b: ExponentialBackoff =
            toml::from_str("initial = \"50ms\"\nmultiplier = 3.0\nmax = \"1s\"\njitter = \"0s\"\n")
                .unwrap();
        assert_eq!(b.base_delay(2), ms(150));
        let text = toml::to_string(&b).unwrap();
        assert_eq!(toml::from_str::<ExponentialBackoff>(&text).unwrap(), b);
        assert!(toml::from_str::<ExponentialBackoff>("multiplier = 0.1\n").is_err());
    }

    proptest! {
        #[test]
        fn base_delay_is_monotonic_and_capped(
            initial in 0u64..5_000,
            extra in 0u64..60_000,
            multiplier in 1.0f64..10.0,
            retry in 1u32..10_000,
        ) {
            let b = ExponentialBackoff::new(ms(initial), multiplier, ms(initial + extra), ms(0)).unwrap();
            prop_assert!(b.base_delay(retry) <= b.max());
            prop_assert!(b.base_delay(retry) <= b.base_delay(retry + 1));
            prop_assert!(b.base_delay(1) == ms(initial).min(b.max()));
        }
    }
}
