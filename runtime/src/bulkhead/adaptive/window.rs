//! A sampling window: the calls that ended since the limit was last updated.

use std::time::Duration;

use crate::clock::Moment;

/// Faster calls are ignored for latency (in-process answers say nothing about load), as in
/// Netflix's `WindowedLimit`.
const MIN_RTT_NANOS: u64 = 100_000;

/// What one finished call tells the adaptive limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSample {
    /// How long the attempt took.
    pub rtt: Duration,
    /// Whether it failed in a way that says "overloaded": it timed out, or failed transiently
    /// (a 429 or 503, a reset).
    pub dropped: bool,
    /// When it ended.
    pub at: Moment,
}

/// The aggregate of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Closed {
    /// Average latency of the calls that were not drops, in nanoseconds (0 if none).
    pub(super) avg_rtt_nanos: f64,
    /// The most calls in flight any sample saw.
    pub(super) max_in_flight: u32,
    /// Whether any call was a drop.
    pub(super) dropped: bool,
}

#[derive(Debug, Default)]
pub(super) struct Window {
    started: Option<Moment>,
    samples: u32,
    rtt_samples: u32,
    rtt_sum_nanos: u64,
    max_in_flight: u32,
    dropped: bool,
}

impl Window {
    /// Adds a sample (`dropped` already includes a latency threshold, if any); returns the
    /// window's aggregate when it is complete (at least `min_samples` and `length` long), and
    /// starts the next one.
    pub(super) fn add(
        &mut self,
        sample: LimitSample,
        dropped: bool,
        in_flight: u32,
        length: Duration,
        min_samples: u32,
    ) -> Option<Closed> {
        let rtt = u64::try_from(sample.rtt.as_nanos()).unwrap_or(u64::MAX);
        if !dropped && rtt < MIN_RTT_NANOS {
            return None;
        }
        let started = *self.started.get_or_insert(sample.at);
        self.samples += 1;
        self.max_in_flight = self.max_in_flight.max(in_flight);
        if dropped {
            self.dropped = true;
        } else {
            self.rtt_samples += 1;
            self.rtt_sum_nanos = self.rtt_sum_nanos.saturating_add(rtt);
        }
        if self.samples < min_samples || sample.at.saturating_duration_since(started) < length {
            return None;
        }
        let closed = Closed {
            avg_rtt_nanos: if self.rtt_samples == 0 {
                0.0
            } else {
                self.rtt_sum_nanos as f64 / f64::from(self.rtt_samples)
            },
            max_in_flight: self.max_in_flight,
            dropped: self.dropped,
        };
        *self = Self::default();
        Some(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, at_ms: u64, dropped: bool) -> LimitSample {
        LimitSample {
            rtt: Duration::from_millis(ms),
            dropped,
            at: Moment::ZERO + Duration::from_millis(at_ms),
        }
    }

    #[test]
    fn closes_after_enough_samples_and_time() {
        let mut w = Window::default();
        let len = Duration::from_millis(100);
        for i in 0..9 {
            assert_eq!(w.add(sample(10, i * 20, false), false, 3, len, 10), None);
        }
        let closed = w.add(sample(30, 200, false), false, 7, len, 10).unwrap();
        assert_eq!(closed.max_in_flight, 7);
        assert!((closed.avg_rtt_nanos - 12e6).abs() < 1.0);
        assert!(!closed.dropped);
        // The next window starts empty.
        assert_eq!(w.add(sample(10, 300, false), false, 1, len, 1), None);
        assert!(
            w.add(sample(10, 400, true), true, 1, len, 1)
                .unwrap()
                .dropped
        );
    }

    #[test]
    fn in_process_answers_are_ignored_but_drops_are_not() {
        let mut w = Window::default();
        let tiny = LimitSample {
            rtt: Duration::from_micros(5),
            dropped: false,
            at: Moment::ZERO,
        };
        assert_eq!(w.add(tiny, false, 1, Duration::ZERO, 1), None);
        let closed = w
            .add(
                LimitSample {
                    dropped: true,
                    ..tiny
                },
                true,
                1,
                Duration::ZERO,
                1,
            )
            .unwrap();
        assert!(closed.dropped);
        assert_eq!(closed.avg_rtt_nanos, 0.0);
    }
}
