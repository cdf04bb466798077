//! Adaptive concurrency: a bulkhead class whose limit follows measured latency (opt-in,
//! `bulkhead.adaptive = "gradient" | "aimd"`).
//!
//! A fixed limit is a guess: too high and a slowing endpoint collects a queue of calls that will
//! all time out together; too low and a healthy one is throttled. An adaptive limit watches each
//! call's latency and outcome and moves the class's effective `max_concurrent` between the floor
//! and the configured maximum, so an endpoint that slows down gets less traffic *before* its
//! breaker must open (Netflix concurrency-limits, whose Gradient2 and AIMD algorithms these
//! follow: [`AdaptiveAlgorithm`]).
//!
//! Calls are aggregated in windows (at least `adaptive_window` long and `adaptive_min_samples`
//! calls): the limit moves once per window, from the window's average latency, the most calls it
//! saw in flight and whether any call was a drop. A call reports when it releases its slot
//! ([`BulkheadPermit::measured`](super::BulkheadPermit::measured)); the guarded call does this
//! for every attempt. With the algorithm off the report is one relaxed load.
//!
//! The effective limit is what [`Bulkhead::limits`](super::Bulkhead::limits) and snapshots show
//! as `max_concurrent`, and what the gauge `bulwark_bulkhead_limit{dependency,priority}` reports.
//! Lowering it never interrupts calls in flight: new calls are admitted below the new limit.

mod aimd;
mod config;
mod gradient;
mod window;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub use config::{AdaptiveAlgorithm, AdaptiveConfig};
pub use window::LimitSample;

use aimd::Aimd;
use gradient::Gradient;
use window::Window;

#[derive(Debug)]
enum Algorithm {
    Gradient(Gradient),
    Aimd(Aimd),
}

#[derive(Debug)]
struct State {
    config: AdaptiveConfig,
    algorithm: Algorithm,
    window: Window,
}

impl State {
    fn limit(&self) -> u32 {
        match &self.algorithm {
            Algorithm::Gradient(g) => g.limit(),
            Algorithm::Aimd(a) => a.limit(),
        }
    }
}

/// The adaptive limit of one class (or none).
#[derive(Debug, Default)]
pub(super) struct AdaptiveLimit {
    on: AtomicBool,
    state: Mutex<Option<State>>,
}

impl AdaptiveLimit {
    fn state(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies new settings for a class whose configured maximum is `max`, and answers the
    /// effective limit. Switching on starts at the maximum; a running limit with the same
    /// algorithm keeps its value (clamped to the new bounds).
    pub(super) fn configure(&self, config: &AdaptiveConfig, max: u32) -> u32 {
        let mut state = self.state();
        let floor = config.floor.min(max).max(1);
        let limit = match (config.algorithm, state.as_mut()) {
            (AdaptiveAlgorithm::Off, _) => {
                *state = None;
                max
            }
            (algorithm, Some(current)) if current.config.algorithm == algorithm => {
                match &mut current.algorithm {
                    Algorithm::Gradient(g) => g.set_bounds(floor, max),
                    Algorithm::Aimd(a) => a.set_bounds(floor, max),
                }
                current.config = *config;
                current.limit()
            }
            (algorithm, _) => {
                let algorithm = match algorithm {
                    AdaptiveAlgorithm::Aimd => Algorithm::Aimd(Aimd::new(max, floor, max)),
                    _ => Algorithm::Gradient(Gradient::new(max, floor, max)),
                };
                *state = Some(State {
                    config: *config,
                    algorithm,
                    window: Window::default(),
                });
                max
            }
        };
        self.on.store(state.is_some(), Ordering::Release);
        limit
    }

    /// Whether the limit adapts.
    #[inline]
    pub(super) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Adds a finished call seen with `in_flight` calls in flight; answers the new limit when a
    /// window closed.
    pub(super) fn sample(&self, sample: LimitSample, in_flight: u32) -> Option<u32> {
        let mut guard = self.state();
        let state = guard.as_mut()?;
        let config = state.config;
        let dropped = sample.dropped
            || (config.algorithm == AdaptiveAlgorithm::Aimd
                && sample.rtt > config.latency_threshold);
        let closed = state.window.add(
            sample,
            dropped,
            in_flight,
            config.window,
            config.min_samples,
        )?;
        let limit = match &mut state.algorithm {
            Algorithm::Gradient(g) => g.update(closed.avg_rtt_nanos, closed.max_in_flight),
            Algorithm::Aimd(a) => a.update(closed.dropped, closed.max_in_flight),
        };
        Some(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Moment;
    use std::time::Duration;

    fn config(algorithm: AdaptiveAlgorithm) -> AdaptiveConfig {
        AdaptiveConfig {
            algorithm,
            floor: 2,
            window: Duration::ZERO,
            min_samples: 1,
            latency_threshold: Duration::from_millis(100),
        }
    }

    fn sample(ms: u64, dropped: bool) -> LimitSample {
        LimitSample {
            rtt: Duration::from_millis(ms),
            dropped,
            at: Moment::ZERO,
        }
    }

    #[test]
    fn off_is_the_configured_maximum() {
        let limit = AdaptiveLimit::default();
        assert_eq!(limit.configure(&AdaptiveConfig::default(), 16), 16);
        assert!(!limit.is_on());
        assert_eq!(limit.sample(sample(10, false), 16), None);
    }

    #[test]
    fn aimd_treats_slow_calls_as_drops() {
        let limit = AdaptiveLimit::default();
        assert_eq!(limit.configure(&config(AdaptiveAlgorithm::Aimd), 10), 10);
        assert!(limit.is_on());
        assert_eq!(limit.sample(sample(500, false), 10), Some(9));
        assert_eq!(limit.sample(sample(5, true), 9), Some(8));
        assert_eq!(limit.sample(sample(5, false), 8), Some(9));
    }

    #[test]
    fn reconfiguring_keeps_a_running_limit_within_the_new_bounds() {
        let limit = AdaptiveLimit::default();
        limit.configure(&config(AdaptiveAlgorithm::Aimd), 10);
        limit.sample(sample(5, true), 10);
        assert_eq!(limit.configure(&config(AdaptiveAlgorithm::Aimd), 20), 9);
        assert_eq!(limit.configure(&config(AdaptiveAlgorithm::Aimd), 5), 5);
        assert_eq!(
            limit.configure(&config(AdaptiveAlgorithm::Gradient), 5),
            5,
            "a new algorithm starts at the maximum"
        );
        assert_eq!(limit.configure(&AdaptiveConfig::default(), 7), 7);
        assert!(!limit.is_on());
    }
}
