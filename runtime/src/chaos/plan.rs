//! [`FaultPlan`] and the [`Latency`] distributions.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The error a chaos-wrapped dependency returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InjectedFault {
    /// An injected failure.
    #[error("chaos: injected failure")]
    Error,
}

/// A plan that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidFaultPlan {
    /// A rate outside 0–1.
    #[error("chaos: {field} must be within 0.0..=1.0, got {value}")]
    Rate {
        /// Which rate.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A latency range with min above max.
    #[error("chaos: latency min must not exceed max")]
    LatencyRange,
}

/// Added latency per call.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Latency {
    /// No added latency.
    #[default]
    None,
    /// The same delay every call.
    Fixed(#[serde(with = "humantime_serde")] Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest delay.
        #[serde(with = "humantime_serde")]
        min: Duration,
        /// Longest delay.
        #[serde(with = "humantime_serde")]
        max: Duration,
    },
    /// Exponential with the given mean (a long tail, like real network stalls), capped at `cap`.
    Exponential {
        /// Mean delay.
        #[serde(with = "humantime_serde")]
        mean: Duration,
        /// Longest delay.
        #[serde(with = "humantime_serde")]
        cap: Duration,
    },
}

impl Latency {
    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        match *self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Uniform { min, max } if min < max => rng.random_range(min..=max),
            Self::Uniform { min, .. } => min,
            Self::Exponential { mean, cap } => {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                mean.mul_f64(-u.ln()).min(cap)
            }
        }
    }
}

/// What to break, and how often.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Share of calls that fail (0–1).
    pub error_rate: f64,
    /// Whether injected errors are permanent (4xx-like) rather than transient.
    pub permanent_errors: bool,
    /// Added latency before the call proceeds.
    pub latency: Latency,
    /// Share of calls that never answer (0–1).
    pub hang_rate: f64,
    /// Share of calls whose code panics (0–1).
    pub panic_rate: f64,
}

impl FaultPlan {
    /// A plan failing `rate` of calls with transient errors.
    pub fn failing(rate: f64) -> Self {
        Self {
            error_rate: rate,
            ..Self::default()
        }
    }

    /// Whether the plan injects nothing.
    pub fn is_healthy(&self) -> bool {
        self.error_rate <= 0.0
            && self.hang_rate <= 0.0
            && self.panic_rate <= 0.0
            && self.latency == Latency::None
    }

    /// Checks rates and ranges.
    pub fn validate(&self) -> Result<(), InvalidFaultPlan> {
        for (field, value) in [
            ("error_rate", self.error_rate),
            ("hang_rate", self.hang_rate),
            ("panic_rate", self.panic_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(InvalidFaultPlan::Rate { field, value });
            }
        }
        if let Latency::Uniform { min, max } = self.latency
            && min > max
        {
            return Err(InvalidFaultPlan::LatencyRange);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(FaultPlan::failing(0.5).validate().is_ok());
        assert!(FaultPlan::failing(1.5).validate().is_err());
        let plan = FaultPlan {
            latency: Latency::Uniform {
                min: Duration::from_secs(2),
                max: Duration::from_secs(1),
            },
            ..FaultPlan::default()
        };
        assert_eq!(plan.validate(), Err(InvalidFaultPlan::LatencyRange));
    }

    #[test]
    fn samples_stay_in_range() {
        let mut rng = rand::rng();
        let uniform = Latency::Uniform {
            min: Duration::from_millis(10),
            max: Duration::from_millis(20),
        };
        let exp = Latency::Exponential {
            mean: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        };
        for _ in 0..1000 {
            let d = uniform.sample(&mut rng);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
            assert!(exp.sample(&mut rng) <= Duration::from_millis(50));
        }
    }

    #[test]
    fn plan_from_toml() {
        let plan: FaultPlan = toml::from_str(
            "error_rate = 0.2\nlatency = { kind = \"uniform\", min = \"10ms\", max = \"50ms\" }\n",
        )
        .unwrap();
        assert_eq!(plan.error_rate, 0.2);
        assert!(matches!(plan.latency, Latency::Uniform { .. }));
    }
}
