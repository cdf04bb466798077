//! Counters written by every call, striped per thread so that concurrent callers on different
//! cores do not fight over one cache line.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Stripes per counter: enough to keep a handful of cores apart, small enough for 10,000 keyed
/// dependencies.
pub(crate) const STRIPES: usize = 4;

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = Cell::new(NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
}

/// This thread's stripe.
#[inline]
pub(crate) fn stripe() -> usize {
    STRIPE.with(Cell::get)
}

/// A counter whose increments land on the caller's stripe; reads sum the stripes.
#[derive(Debug, Default)]
pub(crate) struct StripedCounter([CachePadded<AtomicU64>; STRIPES]);

impl StripedCounter {
    #[inline]
    pub(crate) fn increment(&self) {
        self.0[stripe()].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the total, resetting it (the single reader is the actor).
    pub(crate) fn take(&self) -> u64 {
        self.0.iter().map(|c| c.swap(0, Ordering::AcqRel)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_across_threads() {
        let c = Arc::new(StripedCounter::default());
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || (0..10_000).for_each(|_| c.increment()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.take(), 60_000);
        assert_eq!(c.take(), 0);
    }
}
