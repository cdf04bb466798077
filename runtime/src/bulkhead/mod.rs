//! Bulkhead: bounded concurrency and a bounded wait queue per dependency, per priority class.
//!
//! Each [`Priority`] has its own limits ([`ClassLimits`]): at most `max_concurrent` calls in
//! flight and at most `max_queue` callers waiting for a slot. The classes never share capacity, so
//! a flood of non-critical work (batch jobs, enrichment) cannot take the slots that critical work
//! (logins, paid requests) needs. When a class is full and its queue too, the call is rejected at
//! once with [`BulkheadRejected`]: nothing in the bulkhead grows without bound.
//!
//! The fast path is lock-free: one atomic compare-and-swap to admit, one atomic decrement to
//! release. Waiters park on a `tokio::sync::Notify` and are woken one per released slot.
//!
//! ```
//! use bulwark_runtime::bulkhead::{Bulkhead, BulkheadConfig, ClassLimits};
//! use bulwark_runtime::correlation::Priority;
//!
//! let config = BulkheadConfig::builder()
//!     .critical(ClassLimits { max_concurrent: 1, max_queue: 0 })
//!     .build()
//!     .unwrap();
//! let bulkhead = Bulkhead::new(&config);
//! let held = bulkhead.try_acquire(Priority::Critical).unwrap();
//! assert!(bulkhead.try_acquire(Priority::Critical).is_none(), "critical class is full");
//! assert!(bulkhead.try_acquire(Priority::NonCritical).is_some(), "other class unaffected");
//! drop(held);
//! assert_eq!(bulkhead.in_flight(Priority::Critical), 0);
//! ```

mod class;
mod config;

use serde::Serialize;

use crate::correlation::Priority;

use class::Class;
pub use config::{BulkheadConfig, BulkheadConfigBuilder, ClassLimits, InvalidBulkheadConfig};

/// Why the bulkhead refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BulkheadRejected {
    /// Every slot and every queue place of the class is taken.
    #[error("bulkhead full ({priority})")]
    QueueFull {
        /// The class.
        priority: Priority,
    },
    /// The caller's deadline passed while it waited for a slot.
    #[error("bulkhead wait timed out ({priority})")]
    Timeout {
        /// The class.
        priority: Priority,
    },
}

impl BulkheadRejected {
    /// The class that refused.
    pub fn priority(&self) -> Priority {
        match self {
            Self::QueueFull { priority } | Self::Timeout { priority } => *priority,
        }
    }
}

/// A slot in the bulkhead; released when dropped.
#[derive(Debug)]
#[must_use = "the slot is released when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    class: &'a Class,
    priority: Priority,
}

impl BulkheadPermit<'_> {
    /// The class of the slot.
    pub fn priority(&self) -> Priority {
        self.priority
    }
}

impl Drop for BulkheadPermit<'_> {
    fn drop(&mut self) {
        self.class.release();
    }
}

/// Occupancy of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassSnapshot {
    /// Calls holding a slot.
    pub in_flight: u32,
    /// Callers waiting for a slot.
    pub queued: u32,
    /// Slot limit.
    pub max_concurrent: u32,
    /// Queue limit.
    pub max_queue: u32,
    /// Calls refused since start.
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
            critical: Class::new(config.limits(Priority::Critical)),
            non_critical: Class::new(config.limits(Priority::NonCritical)),
        }
    }

    fn class(&self, priority: Priority) -> &Class {
        match priority {
            Priority::Critical => &self.critical,
            Priority::NonCritical => &self.non_critical,
        }
    }

    /// Takes a slot if one is free; never waits.
    #[inline]
    pub fn try_acquire(&self, priority: Priority) -> Option<BulkheadPermit<'_>> {
        let class = self.class(priority);
        // `then`, not `then_some`: an eagerly built permit would release a slot on drop.
        class
            .try_acquire()
            .then(|| BulkheadPermit { class, priority })
    }

    /// Takes a slot, waiting in the class's bounded queue until one frees or `deadline` passes.
    pub async fn acquire(
        &self,
        priority: Priority,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<BulkheadPermit<'_>, BulkheadRejected> {
        let class = self.class(priority);
        class
            .acquire(deadline)
            .await
            .map(|()| BulkheadPermit { class, priority })
            .map_err(|timed_out| {
                class.count_rejection();
                if timed_out {
                    BulkheadRejected::Timeout { priority }
                } else {
                    BulkheadRejected::QueueFull { priority }
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

    /// The limits of `priority`.
    pub fn limits(&self, priority: Priority) -> ClassLimits {
        self.class(priority).limits()
    }

    /// New limits at run time. Shrinking lets calls in flight finish; growing wakes waiters.
    pub fn resize(&self, config: &BulkheadConfig) {
        self.critical.resize(config.limits(Priority::Critical));
        self.non_critical
            .resize(config.limits(Priority::NonCritical));
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
