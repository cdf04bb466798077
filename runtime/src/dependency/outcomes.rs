//! The lock-free channel from callers to the actor for call outcomes.
//!
//! Callers push one small record per attempt into a bounded ring (`crossbeam_queue::ArrayQueue`);
//! the actor drains it in batches and feeds the breaker, the duration histogram and the counters.
//! The ring never grows: when it is full (the actor cannot keep up, or is restarting), outcomes are
//! folded into overflow counters, which the actor also drains — no outcome is lost, and memory stays
//! flat under any load. Callers wake the actor only when its attention is needed (a failure, a
//! half-open trial result, or a half-full ring); successes on a healthy dependency cost one push.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;

use super::gate::Admission;
use super::striped::StripedCounter;
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
    /// How it was admitted.
    pub(crate) admission: Admission,
    /// Whether it was a call's first attempt (counts as a request for the retry budget).
    pub(crate) first_attempt: bool,
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
    half: usize,
    overflow: CachePadded<OverflowCounters>,
    wake_pending: CachePadded<AtomicBool>,
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
            half: capacity / 2,
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

    /// Records an outcome; `urgent` asks for a prompt drain (failure, trial, slow call).
    #[inline]
    pub(crate) fn push(&self, record: OutcomeRecord, slow: bool, urgent: bool) -> Wake {
        if let Err(record) = self.ring.push(record) {
            let counter = match (record.success, slow) {
                (true, false) => &self.overflow.successes,
                (false, false) => &self.overflow.failures,
                (true, true) => &self.overflow.slow_successes,
                (false, true) => &self.overflow.slow_failures,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return self.request_wake();
        }
        if urgent || self.ring.len() >= self.half {
            self.request_wake()
        } else {
            Wake::No
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
            admission: Admission::Normal,
            first_attempt: true,
        }
    }

    #[test]
    fn failure_wakes_once_until_cleared() {
        let sink = OutcomeSink::new(16);
        assert_eq!(sink.push(rec(false), false, true), Wake::Yes);
        assert_eq!(sink.push(rec(false), false, true), Wake::No);
        sink.clear_wake();
        assert_eq!(sink.push(rec(false), false, true), Wake::Yes);
    }

    #[test]
    fn successes_wake_at_half_full() {
        let sink = OutcomeSink::new(8);
        let wakes: Vec<Wake> = (0..4).map(|_| sink.push(rec(true), false, false)).collect();
        assert_eq!(wakes, [Wake::No, Wake::No, Wake::No, Wake::Yes]);
    }

    #[test]
    fn overflow_is_counted_not_lost() {
        let sink = OutcomeSink::new(4);
        for _ in 0..10 {
            sink.push(rec(true), false, false);
        }
        sink.push(rec(false), true, true);
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
}
