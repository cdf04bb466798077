//! Hedging: when the first endpoint has not answered after a delay, ask a second one too; the
//! first success wins and the other call is cancelled.
//!
//! Tail latency is mostly bad luck — a GC pause, a cold cache, a noisy neighbour on one replica —
//! and a second request to another replica rarely hits the same bad luck (Dean and Barroso, *The
//! Tail at Scale*). Waiting for the 95th percentile before hedging costs about 5 % more requests
//! and cuts the tail of the slowest 5 %. Polly's hedging strategy works the same way.
//!
//! - **Delay**: fixed, or the pool's observed p95 of successful calls (an initial value until
//!   20 calls were seen), never below a floor.
//! - **Cap**: hedges may be at most `max_share` of the pool's recent requests (default 10 %,
//!   over a 10 s window, a [`RetryBudget`](crate::retry::RetryBudget) with no reserve), so a pool
//!   that is slow everywhere cannot double its own load by hedging every call.
//! - **Cancellation**: the losing call's future is dropped. Its bulkhead slot is released and its
//!   breaker permit reports "cancelled" (a half-open trial gives its place back), and the call is
//!   counted as `cancelled` in `bulwark_calls_total`; the HTTP request is aborted with it.
//! - **Deadline**: every call of a hedged request shares the caller's deadline.
//! - **Idempotence**: a call whose [`CallContext`](crate::dependency::CallContext) says it is not
//!   idempotent is never hedged (it would run twice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Moment;
use crate::retry::RetryBudget;

use super::latency::LatencyTracker;

/// How long to wait before hedging.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HedgeDelay {
    /// Always the same delay.
    Fixed(Duration),
    /// The pool's observed 95th percentile of successful calls, at least `floor`; `initial`
    /// until enough calls were seen.
    ObservedP95 {
        /// Used before the pool has seen 20 successful calls.
        initial: Duration,
        /// The delay never goes below this.
        floor: Duration,
    },
}

/// Hedging settings of a pool (opt-in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hedging {
    delay: HedgeDelay,
    max_share: f32,
    max_hedges: u32,
}

impl Hedging {
    /// Hedge after a fixed `delay`.
    pub fn fixed(delay: Duration) -> Self {
        Self {
            delay: HedgeDelay::Fixed(delay),
            max_share: 0.1,
            max_hedges: 1,
        }
    }

    /// Hedge after the pool's observed p95 (100 ms until known, never below 1 ms).
    pub fn observed_p95() -> Self {
        Self {
            delay: HedgeDelay::ObservedP95 {
                initial: Duration::from_millis(100),
                floor: Duration::from_millis(1),
            },
            max_share: 0.1,
            max_hedges: 1,
        }
    }

    /// Any delay rule.
    pub fn with_delay(mut self, delay: HedgeDelay) -> Self {
        self.delay = delay;
        self
    }

    /// Hedges at most this share of recent requests (default 0.1; between 0 and 1).
    pub fn max_share(mut self, share: f32) -> Self {
        self.max_share = share;
        self
    }

    /// Extra calls per request at most (default 1), each after another delay.
    pub fn max_hedges(mut self, hedges: u32) -> Self {
        self.max_hedges = hedges;
        self
    }

    /// The delay rule.
    pub fn delay(&self) -> HedgeDelay {
        self.delay
    }

    /// The cap on hedges, as a share of requests.
    pub fn share(&self) -> f32 {
        self.max_share
    }
}

/// Hedging settings that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidHedging {
    /// The share is not in (0, 1].
    #[error("hedging max_share must be above 0 and at most 1, got {0}")]
    Share(f32),
    /// `max_hedges` is zero.
    #[error("hedging max_hedges must be at least 1")]
    NoHedges,
}

/// Counts of a hedging pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct HedgeStats {
    /// Calls through the pool.
    pub calls: u64,
    /// Extra calls started by hedging.
    pub hedges: u64,
    /// Calls a hedge answered first.
    pub hedge_wins: u64,
}

/// A pool's hedging state.
#[derive(Debug)]
pub(super) struct HedgeState {
    pub(super) config: Hedging,
    budget: RetryBudget,
    pub(super) latency: LatencyTracker,
    calls: AtomicU64,
    hedges: AtomicU64,
    wins: AtomicU64,
}

impl HedgeState {
    pub(super) fn new(config: Hedging) -> Result<Self, InvalidHedging> {
        let share = config.max_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(InvalidHedging::Share(share));
        }
        if config.max_hedges == 0 {
            return Err(InvalidHedging::NoHedges);
        }
        let budget = RetryBudget::new(Duration::from_secs(10), 0, share)
            .map_err(|_| InvalidHedging::Share(share))?;
        Ok(Self {
            budget,
            config,
            latency: LatencyTracker::default(),
            calls: AtomicU64::new(0),
            hedges: AtomicU64::new(0),
            wins: AtomicU64::new(0),
        })
    }

    /// Counts a request (it earns `max_share` of a hedge).
    pub(super) fn request(&self, now: Moment) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.budget.deposit(now);
    }

    /// Whether a hedge may start now (takes it from the cap).
    pub(super) fn try_hedge(&self, now: Moment) -> bool {
        let allowed = self.budget.try_withdraw(now);
        if allowed {
            self.hedges.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }

    /// Counts a request a hedge answered first.
    pub(super) fn won(&self) {
        self.wins.fetch_add(1, Ordering::Relaxed);
    }

    /// The delay before the next hedge.
    pub(super) fn delay(&self) -> Duration {
        match self.config.delay {
            HedgeDelay::Fixed(delay) => delay,
            HedgeDelay::ObservedP95 { initial, floor } => {
                self.latency.p95().unwrap_or(initial).max(floor)
            }
        }
    }

    /// Extra calls per request at most.
    pub(super) fn config_max_hedges(&self) -> u32 {
        self.config.max_hedges
    }

    pub(super) fn stats(&self) -> HedgeStats {
        HedgeStats {
            calls: self.calls.load(Ordering::Relaxed),
            hedges: self.hedges.load(Ordering::Relaxed),
            hedge_wins: self.wins.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedges_are_capped_at_the_share_of_requests() {
        let state = HedgeState::new(Hedging::fixed(Duration::from_millis(50))).unwrap();
        let now = Moment::ZERO + Duration::from_secs(1);
        assert!(!state.try_hedge(now), "no requests yet, no hedges");
        for _ in 0..100 {
            state.request(now);
        }
        let hedges = (0..100).filter(|_| state.try_hedge(now)).count();
        assert_eq!(hedges, 10);
        assert_eq!(state.stats().hedges, 10);
    }

    #[test]
    fn the_p95_rule_starts_from_its_initial_delay() {
        let state = HedgeState::new(Hedging::observed_p95()).unwrap();
        assert_eq!(state.delay(), Duration::from_millis(100));
        for _ in 0..64 {
            state.latency.record(Duration::from_millis(20));
        }
        let delay = state.delay();
        assert!(
            delay >= Duration::from_millis(20) && delay <= Duration::from_millis(25),
            "{delay:?}"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        for share in [0.0, -1.0, 1.5, f32::NAN] {
            assert!(HedgeState::new(Hedging::fixed(Duration::ZERO).max_share(share)).is_err());
        }
        assert!(HedgeState::new(Hedging::fixed(Duration::ZERO).max_hedges(0)).is_err());
    }
}
