//! The lock-free channel from callers to the actor for call outcomes.
//!
//! Callers push one small record per attempt into a bounded ring (`crossbeam_queue::ArrayQueue`);
//! the actor drains it in batches and feeds the breaker, the duration histogram and the counters.
//! The ring never grows: when it is full (the actor cannot keep up, or is restarting), outcomes are
//! folded into overflow counters, which the actor also drains — no outcome is lost, and memory stays
//! flat under any load. Callers wake the actor only when its attention is needed (a failure, a
//! half-open trial result, or a slow call); successes on a healthy dependency cost one striped add.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;

use super::striped::StripedCounter;
use crate::breaker::Permit;
use crate::clock::Moment;

/// One finished attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutcomeRecord {
    /// When the attempt finished.
    pub(crate) at: Moment,
    /// How long it took, in nanoseconds.
    pub(crate) duration_nanos: u64,
    /// Whether it succeeded.
    pub(crate) success: bool,
    /// The breaker's ticket: which round admitted it, and whether as a trial.
    pub(crate) permit: Permit,
    /// Whether it was a call's first attempt (counts as a request for the retry budget).
    pub(crate) first_attempt: bool,
    /// Whether the owning actor's health probe made it (not a call).
    pub(crate) probe: bool,
}

/// Outcomes that did not fit in the ring.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) successes: u64,
    pub(crate) failures: u64,
    pub(crate) slow_successes: u64,
    pub(crate) slow_failures: u64,
}

#[derive(Debug, Default)]
struct OverflowCounters {
    successes: AtomicU64,
    failures: AtomicU64,
    slow_successes: AtomicU64,
    slow_failures: AtomicU64,
}

/// The bounded outcome ring plus its overflow counters and wake-up flag.
#[derive(Debug)]
pub(crate) struct OutcomeSink {
    /// Fast successes of ordinary calls: only their number matters to the breaker.
    successes: StripedCounter,
    ring: ArrayQueue<OutcomeRecord>,
    overflow: CachePadded<OverflowCounters>,
    wake_pending: CachePadded<AtomicBool>,
}

/// Where a pushed outcome went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Into the ring.
    Queued(Wake),
    /// Into the overflow counters (the ring was full).
    Folded(Wake),
    /// Nowhere: the ring was full and the outcome's ticket cannot be folded.
    Refused,
}

/// What a push asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing to do.
    No,
    /// Wake the actor (this caller is the one that flipped the flag).
    Yes,
}

impl OutcomeSink {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            successes: StripedCounter::default(),
            ring: ArrayQueue::new(capacity),
            overflow: CachePadded::new(OverflowCounters::default()),
            wake_pending: CachePadded::new(AtomicBool::new(false)),
        }
    }

    /// Counts a fast success of an ordinary call: one striped add, no wake-up.
    #[inline]
    pub(crate) fn success(&self) {
        self.successes.increment();
    }

    /// Takes the number of fast successes since the last call.
    pub(crate) fn take_successes(&self) -> u64 {
        self.successes.take()
    }

    /// Records an outcome and asks for a prompt drain. When the ring is full, an ordinary call's
    /// outcome is folded into the overflow counters (nothing is lost); a trial's or a probe's is
    /// refused, because its ticket matters: the caller gives its place back instead.
    #[inline]
    pub(crate) fn push(&self, record: OutcomeRecord, slow: bool) -> Pushed {
        match self.ring.push(record) {
            Ok(()) => Pushed::Queued(self.request_wake()),
            Err(record) if record.permit.is_trial() || record.probe => Pushed::Refused,
            Err(record) => {
                let counter = match (record.success, slow) {
                    (true, false) => &self.overflow.successes,
                    (false, false) => &self.overflow.failures,
                    (true, true) => &self.overflow.slow_successes,
                    (false, true) => &self.overflow.slow_failures,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                Pushed::Folded(self.request_wake())
            }
        }
    }

    /// Flips the wake flag; only the caller that flips it sends the wake-up message.
    #[inline]
    pub(crate) fn request_wake(&self) -> Wake {
        if self.wake_pending.load(Ordering::Relaxed) {
            return Wake::No;
        }
        if self.wake_pending.swap(true, Ordering::AcqRel) {
            Wake::No
        } else {
            Wake::Yes
        }
    }

    /// Lets the next urgent push wake the actor again. Called by the actor *before* it drains, so
    /// an outcome pushed during the drain is either drained now or wakes it again.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    /// Takes the next record, oldest first.
    pub(crate) fn pop(&self) -> Option<OutcomeRecord> {
        self.ring.pop()
    }

    /// Takes the overflow counters, resetting them.
    pub(crate) fn take_overflow(&self) -> Overflow {
        Overflow {
            successes: self.overflow.successes.swap(0, Ordering::AcqRel),
            failures: self.overflow.failures.swap(0, Ordering::AcqRel),
            slow_successes: self.overflow.slow_successes.swap(0, Ordering::AcqRel),
            slow_failures: self.overflow.slow_failures.swap(0, Ordering::AcqRel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(success: bool) -> OutcomeRecord {
        OutcomeRecord {
            at: Moment::ZERO,
            duration_nanos: 1,
            success,
            permit: Permit::new(0, false),
            first_attempt: true,
            probe: false,
        }
    }

    #[test]
    fn wakes_once_until_cleared() {
        let sink = OutcomeSink::new(16);
        assert_eq!(sink.push(rec(false), false), Pushed::Queued(Wake::Yes));
        assert_eq!(sink.push(rec(false), false), Pushed::Queued(Wake::No));
        sink.clear_wake();
        assert_eq!(sink.push(rec(false), false), Pushed::Queued(Wake::Yes));
    }

    #[test]
    fn overflow_is_counted_not_lost() {
        let sink = OutcomeSink::new(4);
        for _ in 0..10 {
            sink.push(rec(true), false);
        }
        sink.push(rec(false), true);
        let mut drained = 0;
        while sink.pop().is_some() {
            drained += 1;
        }
        let overflow = sink.take_overflow();
        assert_eq!(drained, 4);
        assert_eq!(overflow.successes, 6);
        assert_eq!(overflow.slow_failures, 1);
        assert_eq!(sink.take_overflow(), Overflow::default());
    }

    #[test]
    fn a_full_ring_refuses_trials_and_probes() {
        let sink = OutcomeSink::new(2);
        sink.push(rec(true), false);
        sink.push(rec(true), false);
        let trial = OutcomeRecord {
            permit: Permit::new(3, true),
            ..rec(true)
        };
        assert_eq!(sink.push(trial, false), Pushed::Refused);
        let probe = OutcomeRecord {
            probe: true,
            ..rec(true)
        };
        assert_eq!(sink.push(probe, false), Pushed::Refused);
        assert_eq!(sink.take_overflow(), Overflow::default());
    }
}
