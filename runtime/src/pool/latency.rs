//! The pool's observed latency, for hedging "after the p95".
//!
//! A log-linear histogram of recent successful call durations (four buckets per power of two,
//! from 65 µs to over a minute: ≤ 25 % error, plenty for a hedge delay), recorded with two relaxed
//! adds. Every 32 records the 95th percentile is recomputed into an atomic that callers read;
//! every 1,024 records the buckets are halved, so the estimate follows the last few thousand calls
//! and forgets old behaviour. Races between recorders only blur the estimate slightly.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// log2 of the smallest bucket's bound (2^16 ns ≈ 65 µs).
const MIN_LOG: u32 = 16;
/// Sub-buckets per power of two (2 bits).
const SUB_BITS: u32 = 2;
const SUBS: u32 = 1 << SUB_BITS;
/// Buckets: powers of two from 2^16 to 2^36 ns (≈ 69 s), four each.
const BUCKETS: usize = 80;
/// Recompute the percentile every this many records.
const RECOMPUTE_EVERY: u32 = 32;
/// Halve the counts every this many records.
const DECAY_EVERY: u32 = 1024;
/// Samples needed before the estimate is trusted.
const MIN_SAMPLES: u64 = 20;

fn bucket(nanos: u64) -> usize {
    let n = nanos.max(1 << MIN_LOG);
    let log = 63 - n.leading_zeros();
    let sub = (n >> (log - SUB_BITS)) & u64::from(SUBS - 1);
    let index = (log - MIN_LOG) as usize * SUBS as usize + sub as usize;
    index.min(BUCKETS - 1)
}

/// The upper bound of bucket `index`, in nanoseconds.
fn upper_bound(index: usize) -> u64 {
    let log = MIN_LOG + (index / SUBS as usize) as u32;
    let sub = (index % SUBS as usize) as u64;
    (1u64 << log) + ((sub + 1) << (log - SUB_BITS))
}

/// Recent latencies and their 95th percentile.
#[derive(Debug)]
pub(super) struct LatencyTracker {
    buckets: [AtomicU32; BUCKETS],
    records: AtomicU32,
    p95_nanos: AtomicU64,
}

impl Default for LatencyTracker {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU32::new(0)),
            records: AtomicU32::new(0),
            p95_nanos: AtomicU64::new(0),
        }
    }
}

impl LatencyTracker {
    /// Records one successful call's duration.
    pub(super) fn record(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket(nanos)].fetch_add(1, Ordering::Relaxed);
        let n = self.records.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if n.is_multiple_of(DECAY_EVERY) {
            for b in &self.buckets {
                let _ = b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| Some(c / 2));
            }
        }
        if n.is_multiple_of(RECOMPUTE_EVERY) {
            self.recompute();
        }
    }

    /// The 95th percentile of recent calls, once enough were seen.
    pub(super) fn p95(&self) -> Option<Duration> {
        match self.p95_nanos.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    fn recompute(&self) {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| u64::from(b.load(Ordering::Relaxed)))
            .collect();
        let total: u64 = counts.iter().sum();
        if total < MIN_SAMPLES {
            return;
        }
        let target = (total * 95).div_ceil(100);
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= target {
                self.p95_nanos.store(upper_bound(index), Ordering::Relaxed);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1 << MIN_LOG), 0);
        let mut previous = 0;
        for exp in 16..40u32 {
            let b = bucket(1u64 << exp);
            assert!(b >= previous);
            previous = b;
            assert!(upper_bound(b) > 1u64 << exp || b == BUCKETS - 1);
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        // A bound is at most 25 % above the value it stands for.
        for nanos in [100_000u64, 1_000_000, 7_777_777, 50_000_000, 2_000_000_000] {
            let bound = upper_bound(bucket(nanos));
            assert!(
                bound > nanos && bound as f64 <= nanos as f64 * 1.25 + 1.0,
                "{nanos} {bound}"
            );
        }
    }

    #[test]
    fn p95_of_a_known_distribution() {
        let tracker = LatencyTracker::default();
        assert_eq!(tracker.p95(), None);
        // 94 fast calls (10 ms) and 6 slow ones (400 ms) per hundred.
        for i in 0..320u32 {
            let ms = if i % 100 < 94 { 10 } else { 400 };
            tracker.record(Duration::from_millis(ms));
        }
        let p95 = tracker.p95().unwrap();
        assert!(
            p95 >= Duration::from_millis(400) && p95 <= Duration::from_millis(500),
            "{p95:?}"
        );
    }

    #[test]
    fn old_behaviour_is_forgotten() {
        let tracker = LatencyTracker::default();
        for _ in 0..1024 {
            tracker.record(Duration::from_millis(500));
        }
        for _ in 0..(8 * 1024) {
            tracker.record(Duration::from_millis(5));
        }
        let p95 = tracker.p95().unwrap();
        assert!(p95 < Duration::from_millis(10), "{p95:?}");
    }
}
