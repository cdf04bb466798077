//! Restart backoff: exponential with jitter, reset after the child ran stably (Akka's
//! `BackoffSupervisor` semantics).
//!
//! The delay before restart number `n` (counting from 0 since the last reset) is
//! `min(max, min_delay × 2ⁿ) × (1 + r × random_factor)` with `r` uniform in `[0, 1)`. Like Akka,
//! the jitter may take a delay past `max` (by at most the random factor): clamping would make every
//! crash-looping child of a fleet restart in lock step once they all reach the cap.
//!
//! The counter resets when a child exits after running at least `reset_after` (default: `max`),
//! or when asked to ([`SupervisorRef::reset_backoff`](crate::SupervisorRef::reset_backoff), Akka's
//! `BackoffSupervisor.Reset`). Resetting after `min` (Akka's default) would let a child that
//! crashes every few seconds restart at the minimum delay forever; a child that survives the
//! longest delay is the one worth trusting again.
//!
//! Settings are checked when the value is built (and when it is deserialised), as Akka's
//! `BackoffOpts` does: `min = 0` with `max > 0` (which would silently mean "no backoff"), a random
//! factor outside `[0, 1]`, `min > max`, or a reset time below `min` are refused. Unlike Akka, a
//! reset time above `max` is accepted: trusting a child again only after a longer stable run is a
//! stricter policy, not a contradictory one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::InvalidBackoff;

/// Restart backoff policy of a child. Built through [`Backoff::none`] or [`Backoff::exponential`],
/// so a running supervisor never holds an invalid one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBackoff")]
pub struct Backoff {
    min: Duration,
    max: Duration,
    random_factor: f64,
    reset_after: Duration,
}

/// The serialised form, checked by [`Backoff::check`] on the way in.
#[derive(Deserialize)]
struct RawBackoff {
    min: Duration,
    max: Duration,
    random_factor: f64,
    reset_after: Duration,
}

impl TryFrom<RawBackoff> for Backoff {
    type Error = InvalidBackoff;

    fn try_from(raw: RawBackoff) -> Result<Self, Self::Error> {
        let backoff = Self {
            min: raw.min,
            max: raw.max,
            random_factor: raw.random_factor,
            reset_after: raw.reset_after,
        };
        backoff.check()?;
        Ok(backoff)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::none()
    }
}

impl Backoff {
    /// Restart at once (OTP behaviour); restart intensity alone bounds a crash loop.
    pub const fn none() -> Self {
        Self {
            min: Duration::ZERO,
            max: Duration::ZERO,
            random_factor: 0.0,
            reset_after: Duration::ZERO,
        }
    }

    /// Exponential backoff from `min` doubling up to `max`, each delay stretched by a random
    /// fraction up to `random_factor` (0.2 = up to 20 % longer). Resets after `max` of stable
    /// running. `min` must be above zero unless `max` is zero too (which is [`Backoff::none`]),
    /// `min <= max`, and `random_factor` within `[0, 1]`.
    pub fn exponential(
        min: Duration,
        max: Duration,
        random_factor: f64,
    ) -> Result<Self, InvalidBackoff> {
        let backoff = Self {
            min,
            max,
            random_factor,
            reset_after: max,
        };
        backoff.check()?;
        Ok(backoff)
    }

    /// The same policy, resetting the attempt counter after `stable` of uninterrupted running.
    /// Refused when `stable` is shorter than `min`: the counter would then reset between crashes
    /// and the delay never grow.
    pub fn with_reset_after(mut self, stable: Duration) -> Result<Self, InvalidBackoff> {
        self.reset_after = stable;
        self.check()?;
        Ok(self)
    }

    fn check(&self) -> Result<(), InvalidBackoff> {
        let Self {
            min,
            max,
            random_factor,
            reset_after,
        } = *self;
        if min > max {
            return Err(InvalidBackoff::MinAboveMax { min, max });
        }
        if min.is_zero() && !max.is_zero() {
            return Err(InvalidBackoff::ZeroMin { max });
        }
        if !(0.0..=1.0).contains(&random_factor) {
            return Err(InvalidBackoff::RandomFactor(random_factor));
        }
        if reset_after < min {
            return Err(InvalidBackoff::ResetBelowMin { reset_after, min });
        }
        Ok(())
    }

    /// The smallest delay.
    pub const fn min(&self) -> Duration {
        self.min
    }

    /// The largest delay before jitter.
    pub const fn max(&self) -> Duration {
        self.max
    }

    /// The jitter factor.
    pub const fn random_factor(&self) -> f64 {
        self.random_factor
    }

    /// How long a child must run before its attempt counter resets.
    pub const fn reset_after(&self) -> Duration {
        self.reset_after
    }

    /// Whether restarts happen at once.
    pub fn is_none(&self) -> bool {
        self.max.is_zero()
    }

    /// Delay before restart number `attempt` (0-based since the last reset), given a uniform random
    /// number `unit_random` in `[0, 1)`. Pure, so it can be tested without randomness.
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        if self.is_none() {
            return Duration::ZERO;
        }
        let exp = 2f64.powi(i32::try_from(attempt.min(62)).unwrap_or(62));
        let base = (self.min.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let jitter = 1.0 + unit_random.clamp(0.0, 1.0) * self.random_factor;
        Duration::try_from_secs_f64(base * jitter).unwrap_or(self.max)
    }

    /// [`Backoff::delay`] with a fresh random number.
    pub(crate) fn next_delay(&self, attempt: u32) -> Duration {
        if self.random_factor == 0.0 {
            return self.delay(attempt, 0.0);
        }
        self.delay(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max() {
        let b =
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1), 0.0).unwrap();
        let ms: Vec<u128> = (0..6).map(|n| b.delay(n, 0.5).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stretches_by_at_most_the_factor() {
        let b =
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1), 0.5).unwrap();
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(0, 1.0), Duration::from_millis(150));
        assert_eq!(b.delay(10, 1.0), Duration::from_millis(1500));
        for _ in 0..100 {
            let d = b.next_delay(1);
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(300),
                "{d:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_settings() {
        let (ms, s1) = (Duration::from_millis(1), Duration::from_secs(1));
        assert_eq!(
            Backoff::exponential(Duration::from_secs(2), s1, 0.0),
            Err(InvalidBackoff::MinAboveMax {
                min: Duration::from_secs(2),
                max: s1
            })
        );
        // min = 0 with max > 0 used to mean "no backoff" without a word.
        assert_eq!(
            Backoff::exponential(Duration::ZERO, s1, 0.0),
            Err(InvalidBackoff::ZeroMin { max: s1 })
        );
        for factor in [f64::NAN, -0.1, 1.000_001, f64::INFINITY] {
            assert!(
                matches!(
                    Backoff::exponential(ms, s1, factor),
                    Err(InvalidBackoff::RandomFactor(_))
                ),
                "{factor}"
            );
        }
        let b = Backoff::exponential(Duration::from_millis(100), s1, 1.0).unwrap();
        assert_eq!(
            b.with_reset_after(Duration::from_millis(99)),
            Err(InvalidBackoff::ResetBelowMin {
                reset_after: Duration::from_millis(99),
                min: Duration::from_millis(100)
            })
        );
        let err = Backoff::exponential(Duration::ZERO, s1, 0.0).unwrap_err();
        assert!(err.to_string().contains("Backoff::none"), "{err}");
    }

    #[test]
    fn accepts_the_edges() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        assert!(Backoff::exponential(min, max, 0.0).is_ok());
        assert!(Backoff::exponential(min, max, 1.0).is_ok());
        assert!(Backoff::exponential(min, min, 0.5).is_ok());
        assert_eq!(
            Backoff::exponential(Duration::ZERO, Duration::ZERO, 0.0),
            Ok(Backoff::none())
        );
        let b = Backoff::exponential(min, max, 0.0).unwrap();
        assert_eq!(b.reset_after(), max);
        assert_eq!(b.with_reset_after(min).unwrap().reset_after(), min);
        // Longer than max: a stricter policy, accepted (Akka refuses it).
        let long = Duration::from_secs(30);
        assert_eq!(b.with_reset_after(long).unwrap().reset_after(), long);
    }

    #[test]
    fn deserialising_checks_the_settings() {
        let b =
            Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1), 0.2).unwrap();
        let json = serde_json::to_value(b).unwrap();
        assert_eq!(serde_json::from_value::<Backoff>(json.clone()).unwrap(), b);
        let mut bad = json;
        bad["random_factor"] = serde_json::json!(3.0);
        let err = serde_json::from_value::<Backoff>(bad).unwrap_err();
        assert!(err.to_string().contains("random factor"), "{err}");
    }

    #[test]
    fn none_is_immediate() {
        assert!(Backoff::none().is_none());
        assert_eq!(Backoff::none().delay(7, 0.9), Duration::ZERO);
    }
}
