//! One priority class of the bulkhead: slots, a bounded wait queue, wake-ups.
//!
//! # Why no wake-up is lost
//!
//! A waiter registers in three steps: count itself in `queued`, *enable* its `Notified` (from then
//! on a `notify_one` reaches it), and only then re-check for a free slot. A release does the
//! mirror image: give the slot back in `in_flight`, then look at `queued` and notify one waiter.
//! All four operations are `SeqCst`, so either the waiter's re-check sees the freed slot, or the
//! releaser sees the waiter and notifies it (Dekker's argument). A waiter that leaves without
//! taking a slot — deadline passed, or its future dropped — passes a possible notification on.
//!
//! # Fairness
//!
//! New arrivals do not take a slot while others wait in the queue (they queue behind them), so a
//! steady stream of arrivals cannot starve queued callers by grabbing each slot as it frees.
//! Waiters themselves are woken in FIFO order by `Notify`; a woken waiter may still lose the slot
//! to another woken waiter, so the order is "FIFO-ish", never unbounded starvation by newcomers.

use std::pin::pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::adaptive::{AdaptiveConfig, AdaptiveLimit, LimitSample};
use super::{ClassLimits, ClassSnapshot};

/// Why [`Class::acquire`] returned without a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Slots and queue places all taken.
    QueueFull,
    /// The deadline passed while waiting.
    Timeout,
}

#[derive(Debug)]
pub(super) struct Class {
    /// Written by every call: on its own cache line.
    in_flight: CachePadded<AtomicU32>,
    /// Written only under overload: on its own cache line, read by every admission.
    queued: CachePadded<AtomicU32>,
    /// Read-mostly settings and the rarely written rejection count share a line.
    max_concurrent: AtomicU32,
    max_queue: AtomicU32,
    rejected: AtomicU64,
    notify: Notify,
    /// The limit's own algorithm, when `max_concurrent` adapts to latency.
    adaptive: AdaptiveLimit,
}

/// Admits `current + 1` when below `limit`. A compare-and-swap (one RMW when uncontended), so
/// the count never overshoots the limit, not even for a moment.
#[inline]
fn bounded_increment(counter: &AtomicU32, limit: u32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < limit).then(|| n + 1)
        })
        .is_ok()
}

/// A place in the wait queue; given back when dropped, also when the waiting future is dropped
/// half-way (a caller's own timeout, a client gone), so the queue count never leaks.
struct QueuePlace<'a> {
    class: &'a Class,
    admitted: bool,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.class.queued.fetch_sub(1, Ordering::SeqCst);
        if !self.admitted {
            // We may have consumed a wake-up meant for a slot we no longer take: pass it on.
            self.class.wake_one_if_waiting();
        }
    }
}

impl Class {
    pub(super) fn new(limits: ClassLimits, adaptive: &AdaptiveConfig) -> Self {
        let adaptive_limit = AdaptiveLimit::default();
        let effective = adaptive_limit.configure(adaptive, limits.max_concurrent);
        Self {
            in_flight: CachePadded::new(AtomicU32::new(0)),
            queued: CachePadded::new(AtomicU32::new(0)),
            max_concurrent: AtomicU32::new(effective),
            max_queue: AtomicU32::new(limits.max_queue),
            rejected: AtomicU64::new(0),
            notify: Notify::new(),
            adaptive: adaptive_limit,
        }
    }

    /// The fast path: a slot if one is free and nobody is queued for it.
    #[inline]
    pub(super) fn try_acquire(&self) -> bool {
        self.queued.load(Ordering::Relaxed) == 0 && self.take_slot()
    }

    /// A slot if one is free, queue or not (for waiters, whose turn it is).
    #[inline]
    fn take_slot(&self) -> bool {
        bounded_increment(&self.in_flight, self.max_concurrent.load(Ordering::Relaxed))
    }

    /// Takes a slot, waiting in the bounded queue until one frees or `deadline` passes.
    pub(super) async fn acquire(&self, deadline: Option<Instant>) -> Result<(), Refusal> {
        if self.try_acquire() {
            return Ok(());
        }
        if !bounded_increment(&self.queued, self.max_queue.load(Ordering::Relaxed)) {
            return Err(Refusal::QueueFull);
        }
        let mut place = QueuePlace {
            class: self,
            admitted: false,
        };
        let result = self.wait(deadline).await;
        place.admitted = result.is_ok();
        result
    }

    /// Waits for a slot; the caller holds a queue place.
    async fn wait(&self, deadline: Option<Instant>) -> Result<(), Refusal> {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            // Re-check after registering, so a release between the check and the wait is seen.
            if self.take_slot() {
                return Ok(());
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        // One last look: a slot freed at the deadline is still ours to take.
                        return if self.take_slot() {
                            Ok(())
                        } else {
                            Err(Refusal::Timeout)
                        };
                    }
                }
                None => notified.await,
            }
        }
    }

    #[inline]
    pub(super) fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.wake_one_if_waiting();
    }

    #[inline]
    fn wake_one_if_waiting(&self) {
        if self.queued.load(Ordering::SeqCst) > 0 {
            self.notify.notify_one();
        }
    }

    pub(super) fn count_rejection(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(super) fn queued(&self) -> u32 {
        self.queued.load(Ordering::Relaxed)
    }

    pub(super) fn limits(&self) -> ClassLimits {
        ClassLimits {
            max_concurrent: self.max_concurrent.load(Ordering::Relaxed),
            max_queue: self.max_queue.load(Ordering::Relaxed),
        }
    }

    pub(super) fn resize(&self, limits: ClassLimits, adaptive: &AdaptiveConfig) {
        let effective = self.adaptive.configure(adaptive, limits.max_concurrent);
        self.max_concurrent.store(effective, Ordering::SeqCst);
        self.max_queue.store(limits.max_queue, Ordering::SeqCst);
        // More room may have appeared: let every registered waiter re-check. (A waiter not yet
        // registered re-checks after registering anyway.)
        self.notify.notify_waiters();
    }

    /// Feeds a finished call to the adaptive limit (one relaxed load when it is off), and
    /// applies a new limit when a window closes. Called while the call still holds its slot.
    #[inline]
    pub(super) fn measured(&self, sample: LimitSample) {
        if self.adaptive.is_on() {
            self.adapt(sample);
        }
    }

    #[cold]
    fn adapt(&self, sample: LimitSample) {
        let Some(limit) = self.adaptive.sample(sample, self.in_flight()) else {
            return;
        };
        let previous = self.max_concurrent.swap(limit, Ordering::SeqCst);
        if limit > previous {
            // Room appeared: let every registered waiter re-check.
            self.notify.notify_waiters();
        }
    }

    pub(super) fn snapshot(&self) -> ClassSnapshot {
        let limits = self.limits();
        ClassSnapshot {
            in_flight: self.in_flight(),
            queued: self.queued(),
            max_concurrent: limits.max_concurrent,
            max_queue: limits.max_queue,
            rejected_total: self.rejected.load(Ordering::Relaxed),
        }
    }
}
