//! Bulkhead: bounded concurrency and a bounded wait queue per dependency, per priority class.
//!
//! Each [`Priority`] has its own limits ([`ClassLimits`]): at most `max_concurrent` calls in
//! flight and at most `max_queue` callers waiting for a slot. The classes never share capacity, so
//! a flood of non-critical work (batch jobs, enrichment) cannot take the slots that critical work
//! (logins, paid requests) needs. When a class is full and its queue too, the call is rejected at
//! once with [`BulkheadRejected::QueueFull`]; a queued caller whose deadline passes gets
//! [`BulkheadRejected::Timeout`]. Nothing in the bulkhead grows without bound: the only memory a
//! waiter uses is its own future, and at most `max_queue` of them wait per class.
//!
//! Defaults ([`BulkheadConfig::default`]): critical 32 in flight + 32 queued, non-critical
//! 64 + 64. Critical work is rarer but must always find room, so it gets its own, smaller pool.
//!
//! - **Fast path**: lock-free and allocation-free — one relaxed load (is anyone queued?) and one
//!   compare-and-swap to admit, one decrement to release; the per-call counters sit on their own
//!   cache lines.
//! - **Queue**: waiters park on a `tokio::sync::Notify` and are woken one per released slot.
//!   Newcomers queue behind waiters instead of barging past them, and no wake-up is lost (see
//!   the notes in `class.rs`). A waiter dropped half-way gives its queue place back.
//! - **Resizing** ([`Bulkhead::resize`]) takes effect at once: growing wakes waiters, shrinking
//!   lets the calls in flight finish and admits new ones only below the new limit.
//! - **Adaptive limits** ([`adaptive`], opt-in): a class's effective `max_concurrent` follows
//!   measured latency (Gradient2 or AIMD) between a floor and the configured maximum.
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::bulkhead::{Bulkhead, BulkheadConfig, BulkheadRejected, ClassLimits};
//! use bulwark_runtime::bulkhead::Priority;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let config = BulkheadConfig::builder()
//!     .critical(ClassLimits { max_concurrent: 1, max_queue: 1 })
//!     .build()
//!     .unwrap();
//! let bulkhead = Bulkhead::new(&config);
//! let held = bulkhead.try_acquire(Priority::Critical).unwrap();
//! assert!(bulkhead.try_acquire(Priority::Critical).is_none(), "critical class is full");
//! assert!(bulkhead.try_acquire(Priority::NonCritical).is_some(), "other class unaffected");
//!
//! // A queued caller waits until its deadline, then is refused with a typed error.
//! let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
//! let refused = bulkhead.acquire(Priority::Critical, Some(deadline)).await.unwrap_err();
//! assert_eq!(refused, BulkheadRejected::Timeout { priority: Priority::Critical });
//!
//! drop(held);
//! assert!(bulkhead.acquire(Priority::Critical, Some(deadline)).await.is_ok());
//! assert_eq!(bulkhead.in_flight(Priority::Critical), 0, "the permit above was dropped");
//! assert_eq!(bulkhead.snapshot().critical.rejected_total, 1);
//! # }
//! ```

pub mod adaptive;
mod class;
mod config;
mod error;
mod permit;
mod priority;

use serde::Serialize;

pub use adaptive::{AdaptiveAlgorithm, AdaptiveConfig, LimitSample};
use class::{Class, Refusal};
pub use config::{BulkheadConfig, BulkheadConfigBuilder, ClassLimits, InvalidBulkheadConfig};
pub use error::BulkheadRejected;
pub use permit::BulkheadPermit;
pub use priority::Priority;

/// Occupancy of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassSnapshot {
    /// Calls holding a slot.
    pub in_flight: u32,
    /// Callers waiting for a slot.
    pub queued: u32,
    /// Slot limit in force (the adaptive limit, when the class adapts).
    pub max_concurrent: u32,
    /// Queue limit.
    pub max_queue: u32,
    /// Calls refused by [`Bulkhead::acquire`] since start (queue full or wait timed out).
    pub rejected_total: u64,
}

/// Occupancy of both classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BulkheadSnapshot {
    /// The critical class.
    pub critical: ClassSnapshot,
    /// The non-critical class.
    pub non_critical: ClassSnapshot,
}

/// A two-class bulkhead.
#[derive(Debug)]
pub struct Bulkhead {
    critical: Class,
    non_critical: Class,
}

impl Bulkhead {
    /// A bulkhead with `config`'s limits.
    pub fn new(config: &BulkheadConfig) -> Self {
        Self {
            critical: Class::new(config.limits(Priority::Critical), config.adaptive()),
            non_critical: Class::new(config.limits(Priority::NonCritical), config.adaptive()),
        }
    }

    fn class(&self, priority: Priority) -> &Class {
        match priority {
            Priority::Critical => &self.critical,
            Priority::NonCritical => &self.non_critical,
        }
    }

    /// Takes a slot if one is free and nobody of the class is queued for it; never waits.
    ///
    /// `None` is not counted as a rejection: the caller may go on to [`acquire`](Self::acquire).
    #[inline]
    pub fn try_acquire(&self, priority: Priority) -> Option<BulkheadPermit<'_>> {
        let class = self.class(priority);
        // `then`, not `then_some`: an eagerly built permit would release a slot on drop.
        class
            .try_acquire()
            .then(|| BulkheadPermit::taken(class, priority))
    }

    /// Takes a slot, waiting in the class's bounded queue until one frees or `deadline` passes
    /// (`None`: wait as long as it takes). Refused at once when the queue is full.
    ///
    /// Cancel-safe: dropping the future gives its queue place back.
    pub async fn acquire(
        &self,
        priority: Priority,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<BulkheadPermit<'_>, BulkheadRejected> {
        let class = self.class(priority);
        class
            .acquire(deadline)
            .await
            .map(|()| BulkheadPermit::taken(class, priority))
            .map_err(|refusal| {
                class.count_rejection();
                match refusal {
                    Refusal::Timeout => BulkheadRejected::Timeout { priority },
                    Refusal::QueueFull => BulkheadRejected::QueueFull { priority },
                }
            })
    }

    /// Calls holding a slot of `priority`.
    pub fn in_flight(&self, priority: Priority) -> u32 {
        self.class(priority).in_flight()
    }

    /// Callers waiting for a slot of `priority`.
    pub fn queued(&self, priority: Priority) -> u32 {
        self.class(priority).queued()
    }

    /// The limits of `priority`; `max_concurrent` is the effective limit (the adaptive one,
    /// when the class adapts).
    pub fn limits(&self, priority: Priority) -> ClassLimits {
        self.class(priority).limits()
    }

    /// New limits at run time. Shrinking lets calls in flight finish; growing wakes waiters.
    pub fn resize(&self, config: &BulkheadConfig) {
        self.critical
            .resize(config.limits(Priority::Critical), config.adaptive());
        self.non_critical
            .resize(config.limits(Priority::NonCritical), config.adaptive());
    }

    /// Occupancy of both classes.
    pub fn snapshot(&self) -> BulkheadSnapshot {
        BulkheadSnapshot {
            critical: self.critical.snapshot(),
            non_critical: self.non_critical.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests;
