//! [`RetryBudget`]: retries may be at most a fraction of recent requests.
//!
//! # Why a budget and not just `max_retries`
//!
//! `max_retries = 3` looks harmless per call, but when a dependency goes down *every* call fails
//! and is retried three times: the dependency now receives four times its normal load at the
//! moment it can least take it, and every layer of a call chain that retries multiplies again
//! (three layers × four attempts = 64×). A budget bounds the *total*: retries over the last `ttl`
//! may not exceed `retry_ratio` × the requests over the same window (Envoy and Finagle use 20 %),
//! plus a small reserve of `min_retries_per_sec` so a lightly used dependency can still retry at
//! all. When a dependency is healthy the budget is never felt; when it is down, the fleet's extra
//! load is capped at 20 % instead of 300 %. `max_retries` still bounds one call's latency; the
//! budget bounds the fleet's load. Both apply: [`RetryPolicy::decide`](super::RetryPolicy::decide)
//! first, then [`RetryBudget::try_withdraw`].
//!
//! # How
//!
//! A ring of ten time slots of atomic balances covers the window (`ttl / 10` per slot). Every
//! request deposits `retry_ratio` (in fixed point, × 1000) into the current slot, every retry
//! withdraws 1; slots older than `ttl` are cleared as the window moves, so old traffic stops
//! counting. A deposit is one relaxed load and one relaxed add, no lock and no allocation; a
//! withdrawal sums the ten slots.
//!
//! The accounting is deliberately approximate under contention, like Finagle's and tower's: a
//! deposit racing with the window's move to a new slot may be lost (fewer retries, the safe side),
//! and concurrent withdrawals may together overdraw by at most one retry each.
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::clock::Moment;
//! use bulwark_runtime::retry::RetryBudget;
//!
//! // 20 % of requests, plus 1 retry/s reserve over a 10 s window.
//! let budget = RetryBudget::new(Duration::from_secs(10), 1, 0.2).unwrap();
//! let now = Moment::ZERO + Duration::from_secs(1);
//! for _ in 0..100 {
//!     budget.deposit(now); // every first attempt
//! }
//! let mut retries = 0;
//! while budget.try_withdraw(now) { // every retry
//!     retries += 1;
//! }
//! assert_eq!(retries, 20 + 10);
//! // Ten seconds later the requests have left the window; only the reserve is left.
//! assert_eq!(budget.available(now + Duration::from_secs(11)), 10);
//! ```

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::InvalidRetryConfig;
use crate::clock::Moment;

/// Fixed-point scale: one retry costs `SCALE`, one request deposits `retry_ratio × SCALE`.
const SCALE: i64 = 1_000;
/// Slots in the ring (the window's resolution is `ttl / SLOTS`).
const SLOTS: usize = 10;

/// Settings of a [`RetryBudget`]. Defaults: 10 s window, 10 retries/s reserve, 20 % ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// How far back requests count.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Retries always allowed per second, whatever the traffic.
    pub min_retries_per_sec: u32,
    /// Retries allowed per request (0.2 = 20 %).
    pub retry_ratio: f32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            min_retries_per_sec: 10,
            retry_ratio: 0.2,
        }
    }
}

impl BudgetConfig {
    /// Checks the ranges (`ttl` 1–60 s, ratio 0–1000).
    pub fn validate(&self) -> Result<(), InvalidRetryConfig> {
        if self.ttl < Duration::from_secs(1) || self.ttl > Duration::from_secs(60) {
            return Err(InvalidRetryConfig::BudgetTtl(self.ttl));
        }
        if !self.retry_ratio.is_finite() || !(0.0..=1000.0).contains(&self.retry_ratio) {
            return Err(InvalidRetryConfig::RetryRatio(self.retry_ratio));
        }
        Ok(())
    }
}

/// A shared, lock-free retry budget.
#[derive(Debug)]
pub struct RetryBudget {
    slots: [AtomicI64; SLOTS],
    /// Index (time / slot length) of the newest slot.
    epoch: AtomicU64,
    slot_nanos: u64,
    deposit: i64,
    reserve: i64,
}

impl RetryBudget {
    /// A budget over `ttl` allowing `retry_ratio` retries per request plus `min_retries_per_sec`.
    pub fn new(
        ttl: Duration,
        min_retries_per_sec: u32,
        retry_ratio: f32,
    ) -> Result<Self, InvalidRetryConfig> {
        let config = BudgetConfig {
            ttl,
            min_retries_per_sec,
            retry_ratio,
        };
        config.validate()?;
        let slot_nanos = u64::try_from(ttl.as_nanos() / SLOTS as u128)
            .unwrap_or(u64::MAX)
            .max(1);
        // ttl is at most 60 s, so these products fit easily.
        #[allow(clippy::cast_possible_truncation)]
        let deposit = (f64::from(retry_ratio) * SCALE as f64).round() as i64;
        #[allow(clippy::cast_possible_truncation)]
        let reserve = (f64::from(min_retries_per_sec) * ttl.as_secs_f64()).floor() as i64 * SCALE;
        Ok(Self {
            slots: std::array::from_fn(|_| AtomicI64::new(0)),
            epoch: AtomicU64::new(0),
            slot_nanos,
            deposit,
            reserve,
        })
    }

    /// A budget from its settings.
    pub fn from_config(config: &BudgetConfig) -> Result<Self, InvalidRetryConfig> {
        Self::new(config.ttl, config.min_retries_per_sec, config.retry_ratio)
    }

    /// Counts a request (a first attempt). Cheap: one relaxed load and one relaxed add.
    ///
    /// A `now` older than the window (a moment read long before) counts for nothing.
    #[inline]
    pub fn deposit(&self, now: Moment) {
        if let Some(slot) = self.rotate(now)
            && self.deposit != 0
        {
            self.slots[slot].fetch_add(self.deposit, Ordering::Relaxed);
        }
    }

    /// Counts `n` requests at once (callers that report in batches).
    pub fn deposit_n(&self, now: Moment, n: u64) {
        let amount = self
            .deposit
            .saturating_mul(i64::try_from(n).unwrap_or(i64::MAX));
        if let Some(slot) = self.rotate(now)
            && amount != 0
        {
            self.slots[slot].fetch_add(amount, Ordering::Relaxed);
        }
    }

    /// Takes one retry from the budget; `false` when the budget is spent (then do not retry).
    pub fn try_withdraw(&self, now: Moment) -> bool {
        let slot = self.rotate(now).unwrap_or_else(|| self.newest_slot());
        if self.balance() < SCALE {
            return false;
        }
        self.slots[slot].fetch_sub(SCALE, Ordering::Relaxed);
        true
    }

    /// Retries currently affordable (whole retries, reserve included).
    pub fn available(&self, now: Moment) -> u64 {
        self.rotate(now);
        u64::try_from(self.balance() / SCALE).unwrap_or(0)
    }

    fn balance(&self) -> i64 {
        self.reserve
            + self
                .slots
                .iter()
                .map(|s| s.load(Ordering::Relaxed))
                .sum::<i64>()
    }

    fn newest_slot(&self) -> usize {
        (self.epoch.load(Ordering::Relaxed) % SLOTS as u64) as usize
    }

    /// Moves the window to `now`, clearing slots that fell out of it; returns `now`'s slot, or
    /// `None` when `now` is already older than the window.
    #[inline]
    fn rotate(&self, now: Moment) -> Option<usize> {
        let epoch = now.as_nanos() / self.slot_nanos;
        let mut current = self.epoch.load(Ordering::Relaxed);
        while epoch > current {
            match self.epoch.compare_exchange_weak(
                current,
                epoch,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let stale = (epoch - current).min(SLOTS as u64);
                    for e in (epoch + 1 - stale)..=epoch {
                        self.slots[(e % SLOTS as u64) as usize].store(0, Ordering::Relaxed);
                    }
                    break;
                }
                Err(actual) => current = actual,
            }
        }
        if epoch + (SLOTS as u64) <= current {
            return None;
        }
        Some((epoch % SLOTS as u64) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Moment {
        Moment::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn retries_are_a_share_of_requests_plus_reserve() {
        let budget = RetryBudget::new(Duration::from_secs(10), 1, 0.2).unwrap();
        for _ in 0..1_000 {
            budget.deposit(at(100));
        }
        let mut retries = 0;
        while budget.try_withdraw(at(100)) {
            retries += 1;
        }
        // 20 % of 1000 requests + 1/s × 10 s reserve.
        assert_eq!(retries, 200 + 10);
    }

    #[test]
    fn no_traffic_leaves_only_the_reserve() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.2).unwrap();
        assert!(!budget.try_withdraw(at(0)));
        budget.deposit(at(0));
        assert!(!budget.try_withdraw(at(0)), "one request buys 0.2 retries");
        for _ in 0..4 {
            budget.deposit(at(0));
        }
        assert!(budget.try_withdraw(at(0)));
    }

    #[test]
    fn window_slides() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 1.0).unwrap();
        for _ in 0..50 {
            budget.deposit(at(0));
        }
        assert_eq!(budget.available(at(5_000)), 50);
        assert_eq!(budget.available(at(11_000)), 0, "old deposits expire");
        budget.deposit(at(11_000));
        assert_eq!(budget.available(at(11_000)), 1);
    }

    #[test]
    fn a_moment_older_than_the_window_counts_for_nothing() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 1.0).unwrap();
        budget.deposit(at(20_000));
        budget.deposit(at(5_000)); // read long ago, reported late
        assert_eq!(budget.available(at(20_000)), 1);
        budget.deposit(at(15_000)); // late but still inside the window
        assert_eq!(budget.available(at(20_000)), 2);
        assert!(
            budget.try_withdraw(at(1_000)),
            "a stale withdrawal is charged to now"
        );
        assert_eq!(budget.available(at(20_000)), 1);
    }

    #[test]
    fn fractional_windows_scale_the_reserve() {
        let budget = RetryBudget::new(Duration::from_millis(1_500), 10, 0.0).unwrap();
        assert_eq!(budget.available(at(0)), 15);
    }

    #[test]
    fn validation() {
        assert!(RetryBudget::new(Duration::from_millis(10), 1, 0.2).is_err());
        assert!(RetryBudget::new(Duration::from_secs(10), 1, -1.0).is_err());
        assert!(RetryBudget::new(Duration::from_secs(10), 1, f32::NAN).is_err());
    }

    #[test]
    fn concurrent_deposits_are_all_counted() {
        let budget =
            std::sync::Arc::new(RetryBudget::new(Duration::from_secs(10), 0, 1.0).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = std::sync::Arc::clone(&budget);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        b.deposit(at(1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(budget.available(at(1)), 40_000);
    }
}
