//! Sliding windows of call outcomes: the last N calls, or the calls of the last T.
//!
//! Both keep running sums, so recording is O(1) and never allocates after construction:
//!
//! - [`CountWindow`]: a ring of one byte per call (failed bit, slow bit); the oldest call drops
//!   out as a new one comes in.
//! - [`TimeWindow`]: a ring of buckets of equal width, each with its own sums. The bucket for a
//!   moment is `(nanos / width) % buckets`; moving to a later bucket clears every bucket skipped
//!   (at most all of them, so amortised O(1), worst case O(buckets)). The window therefore covers
//!   the current bucket and the `buckets − 1` before it. Moments earlier than the newest bucket
//!   seen (out-of-order reports) count in the newest bucket.

use crate::clock::Moment;

use super::config::WindowKind;
use super::error::InvariantViolation;

const FAILED: u8 = 0b01;
const SLOW: u8 = 0b10;

/// Totals over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Calls recorded.
    pub(crate) calls: u64,
    /// Of which failed.
    pub(crate) failed: u64,
    /// Of which slow (failed or not).
    pub(crate) slow: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.calls += other.calls;
        self.failed += other.failed;
        self.slow += other.slow;
    }

    fn remove(&mut self, other: Counts) {
        self.calls -= other.calls;
        self.failed -= other.failed;
        self.slow -= other.slow;
    }

    fn one(failed: bool, slow: bool) -> Counts {
        Counts {
            calls: 1,
            failed: u64::from(failed),
            slow: u64::from(slow),
        }
    }

    fn is_consistent(&self) -> bool {
        self.failed <= self.calls && self.slow <= self.calls
    }
}

/// The window of a breaker, of either kind.
#[derive(Debug, Clone)]
pub(crate) enum Window {
    /// The last N calls.
    Count(CountWindow),
    /// The calls of the last T.
    Time(TimeWindow),
}

impl Window {
    /// An empty window of `kind` (validated), starting at `now`.
    pub(crate) fn new(kind: &WindowKind, now: Moment) -> Self {
        match *kind {
            WindowKind::Count { size } => Window::Count(CountWindow::new(size)),
            WindowKind::Time { size, buckets } => {
                let width = u64::try_from(size.as_nanos() / u128::from(buckets.max(1)))
                    .unwrap_or(u64::MAX)
                    .max(1);
                Window::Time(TimeWindow::new(buckets, width, now))
            }
        }
    }

    /// A window of `kind` holding what it can of `self`: a count window keeps its newest calls
    /// when resized; any other change starts empty.
    pub(crate) fn rebuilt(&self, kind: &WindowKind, now: Moment) -> Self {
        let mut fresh = Window::new(kind, now);
        if let (Window::Count(old), Window::Count(new)) = (self, &mut fresh) {
            let keep = old.len.min(new.slots.len());
            for i in old.len - keep..old.len {
                new.push(old.slot(i));
            }
        }
        fresh
    }

    /// Whether this window is of `kind` (same type and size).
    pub(crate) fn is_kind(&self, kind: &WindowKind) -> bool {
        match (self, kind) {
            (Window::Count(w), &WindowKind::Count { size }) => {
                w.slots.len() as u64 == u64::from(size)
            }
            (Window::Time(w), &WindowKind::Time { size, buckets }) => {
                w.buckets.len() as u64 == u64::from(buckets)
                    && u128::from(w.width) * u128::from(buckets) == size.as_nanos()
            }
            _ => false,
        }
    }

    /// Records one finished call at `now`.
    pub(crate) fn record(&mut self, now: Moment, failed: bool, slow: bool) {
        match self {
            Window::Count(w) => w.push((u8::from(failed) * FAILED) | (u8::from(slow) * SLOW)),
            Window::Time(w) => w.record(now, Counts::one(failed, slow)),
        }
    }

    /// Forgets what has slid out of the window by `now` (time windows only).
    pub(crate) fn expire(&mut self, now: Moment) {
        if let Window::Time(w) = self {
            w.rotate(now);
        }
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self, now: Moment) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(now),
        }
    }

    /// Current totals.
    pub(crate) fn counts(&self) -> Counts {
        match self {
            Window::Count(w) => w.totals,
            Window::Time(w) => w.totals,
        }
    }

    /// Totals as they will be at `now`, without forgetting anything yet.
    pub(crate) fn counts_at(&self, now: Moment) -> Counts {
        match self {
            Window::Count(w) => w.totals,
            Window::Time(w) => w.totals_at(now),
        }
    }

    /// Checks the running sums against the slots.
    pub(crate) fn check(&self) -> Result<(), InvariantViolation> {
        let (totals, recomputed) = match self {
            Window::Count(w) => {
                if w.len > w.slots.len() || w.head >= w.slots.len() {
                    return Err(InvariantViolation::new(
                        "count window length or head out of range",
                    ));
                }
                let mut sum = Counts::default();
                for i in 0..w.len {
                    let s = w.slot(i);
                    sum.add(Counts::one(s & FAILED != 0, s & SLOW != 0));
                }
                (w.totals, sum)
            }
            Window::Time(w) => {
                let mut sum = Counts::default();
                for b in w.buckets.iter() {
                    if !b.is_consistent() {
                        return Err(InvariantViolation::new(
                            "time bucket counts more failures than calls",
                        ));
                    }
                    sum.add(*b);
                }
                (w.totals, sum)
            }
        };
        if totals != recomputed {
            return Err(InvariantViolation::new(
                "window running sums differ from its slots",
            ));
        }
        if !totals.is_consistent() {
            return Err(InvariantViolation::new(
                "window counts more failed or slow calls than calls",
            ));
        }
        Ok(())
    }
}

/// The last `slots.len()` calls.
#[derive(Debug, Clone)]
pub(crate) struct CountWindow {
    slots: Box<[u8]>,
    /// Index the next call is written to.
    head: usize,
    len: usize,
    totals: Counts,
}

impl CountWindow {
    fn new(size: u32) -> Self {
        let size = usize::try_from(size).unwrap_or(usize::MAX).max(1);
        Self {
            slots: vec![0; size].into_boxed_slice(),
            head: 0,
            len: 0,
            totals: Counts::default(),
        }
    }

    /// The `i`-th oldest call held (`i < len`).
    fn slot(&self, i: usize) -> u8 {
        let cap = self.slots.len();
        self.slots[(self.head + cap - self.len + i) % cap]
    }

    fn push(&mut self, bits: u8) {
        if self.len == self.slots.len() {
            let old = self.slots[self.head];
            self.totals
                .remove(Counts::one(old & FAILED != 0, old & SLOW != 0));
        } else {
            self.len += 1;
        }
        self.slots[self.head] = bits;
        self.totals
            .add(Counts::one(bits & FAILED != 0, bits & SLOW != 0));
        self.head = (self.head + 1) % self.slots.len();
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.totals = Counts::default();
    }
}

/// The calls of the last `buckets.len() × width` nanoseconds.
#[derive(Debug, Clone)]
pub(crate) struct TimeWindow {
    buckets: Box<[Counts]>,
    /// Bucket width in nanoseconds.
    width: u64,
    /// `nanos / width` of the newest bucket.
    head_epoch: u64,
    totals: Counts,
}

impl TimeWindow {
    fn new(buckets: u32, width: u64, now: Moment) -> Self {
        let n = usize::try_from(buckets).unwrap_or(usize::MAX).max(1);
        Self {
            buckets: vec![Counts::default(); n].into_boxed_slice(),
            width,
            head_epoch: now.as_nanos() / width,
            totals: Counts::default(),
        }
    }

    fn index(&self, epoch: u64) -> usize {
        // The remainder is below `buckets.len()`, which is a usize.
        usize::try_from(epoch % self.buckets.len() as u64).unwrap_or(0)
    }

    fn rotate(&mut self, now: Moment) {
        let epoch = now.as_nanos() / self.width;
        if epoch <= self.head_epoch {
            return;
        }
        let steps = (epoch - self.head_epoch).min(self.buckets.len() as u64);
        for step in 1..=steps {
            let i = self.index(self.head_epoch + step);
            let gone = std::mem::take(&mut self.buckets[i]);
            self.totals.remove(gone);
        }
        self.head_epoch = epoch;
    }

    fn totals_at(&self, now: Moment) -> Counts {
        let epoch = now.as_nanos() / self.width;
        let mut totals = self.totals;
        if epoch > self.head_epoch {
            let steps = (epoch - self.head_epoch).min(self.buckets.len() as u64);
            for step in 1..=steps {
                totals.remove(self.buckets[self.index(self.head_epoch + step)]);
            }
        }
        totals
    }

    fn record(&mut self, now: Moment, one: Counts) {
        self.rotate(now);
        let i = self.index(self.head_epoch);
        self.buckets[i].add(one);
        self.totals.add(one);
    }

    fn clear(&mut self, now: Moment) {
        self.buckets.fill(Counts::default());
        self.totals = Counts::default();
        self.head_epoch = self.head_epoch.max(now.as_nanos() / self.width);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> Moment {
        Moment::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn count_window_keeps_the_last_n_calls() {
        let mut w = Window::new(&WindowKind::Count { size: 3 }, at(0));
        w.record(at(0), true, false);
        w.record(at(0), true, true);
        w.record(at(0), false, false);
        assert_eq!(
            w.counts(),
            Counts {
                calls: 3,
                failed: 2,
                slow: 1
            }
        );
        w.record(at(0), false, false);
        assert_eq!(
            w.counts(),
            Counts {
                calls: 3,
                failed: 1,
                slow: 1
            }
        );
        w.record(at(0), false, false);
        assert_eq!(
            w.counts(),
            Counts {
                calls: 3,
                failed: 0,
                slow: 0
            }
        );
        w.check().unwrap();
    }

    #[test]
    fn time_window_forgets_old_buckets() {
        let kind = WindowKind::Time {
            size: Duration::from_secs(10),
            buckets: 10,
        };
        let mut w = Window::new(&kind, at(0));
        w.record(at(500), true, false);
        w.record(at(4_200), false, true);
        assert_eq!(w.counts().calls, 2);
        w.expire(at(9_999));
        assert_eq!(
            w.counts().calls,
            2,
            "the first bucket is still inside the window"
        );
        assert_eq!(w.counts_at(at(10_000)).calls, 1);
        assert_eq!(w.counts_at(at(60_000)).calls, 0);
        w.expire(at(10_000));
        assert_eq!(
            w.counts(),
            Counts {
                calls: 1,
                failed: 0,
                slow: 1
            }
        );
        w.expire(at(13_999));
        assert_eq!(w.counts().calls, 1);
        w.expire(at(14_000));
        assert_eq!(w.counts().calls, 0);
        w.record(at(100_000), true, true);
        assert_eq!(w.counts().calls, 1);
        w.check().unwrap();
    }

    #[test]
    fn late_reports_count_in_the_newest_bucket() {
        let kind = WindowKind::Time {
            size: Duration::from_secs(2),
            buckets: 2,
        };
        let mut w = Window::new(&kind, at(0));
        w.record(at(5_000), false, false);
        w.record(at(1_000), true, false);
        assert_eq!(w.counts().calls, 2);
        w.expire(at(7_000));
        assert_eq!(w.counts().calls, 0);
        w.check().unwrap();
    }

    #[test]
    fn resizing_a_count_window_keeps_the_newest_calls() {
        let mut w = Window::new(&WindowKind::Count { size: 4 }, at(0));
        for failed in [true, true, false, false] {
            w.record(at(0), failed, false);
        }
        let smaller = w.rebuilt(&WindowKind::Count { size: 2 }, at(0));
        assert_eq!(
            smaller.counts(),
            Counts {
                calls: 2,
                failed: 0,
                slow: 0
            }
        );
        let larger = w.rebuilt(&WindowKind::Count { size: 10 }, at(0));
        assert_eq!(
            larger.counts(),
            Counts {
                calls: 4,
                failed: 2,
                slow: 0
            }
        );
        assert!(larger.is_kind(&WindowKind::Count { size: 10 }));
        smaller.check().unwrap();
        larger.check().unwrap();
    }
}
