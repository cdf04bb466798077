//! One priority class of the bulkhead: slots, a bounded wait queue, wake-ups.

use std::pin::pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use tokio::sync::Notify;

use super::{ClassLimits, ClassSnapshot};

#[derive(Debug)]
pub(super) struct Class {
    /// Written by every call: on its own cache line.
    in_flight: CachePadded<AtomicU32>,
    queued: CachePadded<AtomicU32>,
    max_concurrent: AtomicU32,
    max_queue: AtomicU32,
    rejected: AtomicU64,
    notify: Notify,
}

/// Admits `current + 1` when below `limit`; a CAS loop, so the count never overshoots.
fn bounded_increment(counter: &AtomicU32, limit: u32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |n| {
            (n < limit).then(|| n + 1)
        })
        .is_ok()
}

impl Class {
    pub(super) fn new(limits: ClassLimits) -> Self {
        Self {
            in_flight: CachePadded::new(AtomicU32::new(0)),
            queued: CachePadded::new(AtomicU32::new(0)),
            max_concurrent: AtomicU32::new(limits.max_concurrent),
            max_queue: AtomicU32::new(limits.max_queue),
            rejected: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }

    #[inline]
    pub(super) fn try_acquire(&self) -> bool {
        bounded_increment(&self.in_flight, self.max_concurrent.load(Ordering::Relaxed))
    }

    /// Waits for a slot in the bounded queue. `Err(true)`: the deadline passed; `Err(false)`: the
    /// queue is full.
    pub(super) async fn acquire(&self, deadline: Option<tokio::time::Instant>) -> Result<(), bool> {
        if self.try_acquire() {
            return Ok(());
        }
        if !bounded_increment(&self.queued, self.max_queue.load(Ordering::Relaxed)) {
            return Err(false);
        }
        let result = self.wait(deadline).await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if result.is_err() {
            // We may have been woken for a slot we no longer want: pass it on.
            self.wake_one_if_waiting();
        }
        result
    }

    async fn wait(&self, deadline: Option<tokio::time::Instant>) -> Result<(), bool> {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            // Re-check after registering, so a release between the check and the wait is seen.
            if self.try_acquire() {
                return Ok(());
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return if self.try_acquire() {
                            Ok(())
                        } else {
                            Err(true)
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

    pub(super) fn resize(&self, limits: ClassLimits) {
        self.max_concurrent
            .store(limits.max_concurrent, Ordering::SeqCst);
        self.max_queue.store(limits.max_queue, Ordering::SeqCst);
        // More room may have appeared: let every waiter re-check.
        self.notify.notify_waiters();
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
