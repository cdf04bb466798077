//! Gradient2, after Netflix concurrency-limits: the limit follows how much slower calls are now
//! than they usually are.
//!
//! Once per window: `gradient = clamp(long_rtt / short_rtt, 0.5, 1.0)`, where `short_rtt` is
//! this window's average latency and `long_rtt` an exponential average over about 600 windows
//! (the plain average of the first ten). The new limit is `limit × gradient + queue` (a little
//! headroom, 4 calls, so the limit can probe upwards while latency is flat), smoothed:
//! `limit = 0.8 × limit + 0.2 × new`, then kept between the floor and the maximum.
//!
//! - Latency flat: gradient 1, the limit creeps up by 0.2 × 4 per window to the maximum.
//! - Latency rising (queueing at the endpoint): gradient below 1, the limit falls — by at most
//!   half per window before smoothing, so one outlier window cannot collapse it.
//! - Latency back to normal after a long slow period: the long average is still high; when it is
//!   more than twice the short one it is cut by 10 % per window, so the limit recovers without
//!   waiting for the slow exponential average.
//! - App-limited (fewer calls in flight than half the limit): nothing changes — low traffic says
//!   nothing about capacity.

/// Headroom added to the limit per update while latency is flat.
const QUEUE: f64 = 4.0;
/// Weight of a new estimate.
const SMOOTHING: f64 = 0.2;
/// Windows the long-term average spans.
const LONG_WINDOW: f64 = 600.0;
/// Windows averaged plainly before the exponential average takes over.
const WARMUP: u32 = 10;

/// The Gradient2 state.
#[derive(Debug, Clone)]
pub(super) struct Gradient {
    limit: f64,
    floor: f64,
    max: f64,
    long_rtt: f64,
    windows: u32,
}

impl Gradient {
    pub(super) fn new(initial: u32, floor: u32, max: u32) -> Self {
        Self {
            limit: f64::from(initial),
            floor: f64::from(floor),
            max: f64::from(max),
            long_rtt: 0.0,
            windows: 0,
        }
    }

    pub(super) fn limit(&self) -> u32 {
        // Between floor and max, both u32.
        self.limit as u32
    }

    pub(super) fn set_bounds(&mut self, floor: u32, max: u32) {
        self.floor = f64::from(floor);
        self.max = f64::from(max);
        self.limit = self.limit.clamp(self.floor, self.max);
    }

    /// One window: its average latency (nanoseconds) and the most calls it saw in flight.
    pub(super) fn update(&mut self, short_rtt: f64, max_in_flight: u32) -> u32 {
        if short_rtt <= 0.0 {
            return self.limit();
        }
        let long_rtt = self.add_long(short_rtt);
        if long_rtt / short_rtt > 2.0 {
            self.long_rtt *= 0.9;
        }
        if f64::from(max_in_flight) < self.limit / 2.0 {
            return self.limit();
        }
        let gradient = (long_rtt / short_rtt).clamp(0.5, 1.0);
        let estimate = self.limit * gradient + QUEUE;
        self.limit =
            (self.limit * (1.0 - SMOOTHING) + estimate * SMOOTHING).clamp(self.floor, self.max);
        self.limit()
    }

    fn add_long(&mut self, rtt: f64) -> f64 {
        if self.windows < WARMUP {
            self.windows += 1;
            self.long_rtt += (rtt - self.long_rtt) / f64::from(self.windows);
        } else {
            let factor = 2.0 / (LONG_WINDOW + 1.0);
            self.long_rtt = self.long_rtt * (1.0 - factor) + rtt * factor;
        }
        self.long_rtt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: f64 = 1e6;

    #[test]
    fn flat_latency_keeps_the_maximum() {
        let mut g = Gradient::new(20, 2, 20);
        for _ in 0..100 {
            assert_eq!(g.update(10.0 * MS, 20), 20);
        }
    }

    #[test]
    fn rising_latency_lowers_the_limit_and_recovery_restores_it() {
        let mut g = Gradient::new(20, 2, 20);
        for _ in 0..50 {
            g.update(10.0 * MS, 20);
        }
        let mut previous = g.limit();
        for _ in 0..10 {
            let limit = g.update(100.0 * MS, 20);
            assert!(limit <= previous, "{limit} > {previous}");
            previous = limit;
        }
        assert!(previous <= 15, "{previous}");
        let mut windows = 0;
        while g.update(10.0 * MS, 20) < 20 {
            windows += 1;
            assert!(windows < 100, "never recovered: {}", g.limit());
        }
    }

    #[test]
    fn one_slow_window_costs_at_most_a_tenth() {
        let mut g = Gradient::new(20, 1, 20);
        for _ in 0..20 {
            g.update(10.0 * MS, 20);
        }
        // Gradient at most halves the estimate, smoothing keeps 80 % of the old limit.
        assert!(g.update(10_000.0 * MS, 20) >= 18);
    }

    #[test]
    fn an_app_limited_window_changes_nothing() {
        let mut g = Gradient::new(20, 1, 20);
        for _ in 0..20 {
            g.update(10.0 * MS, 20);
        }
        for _ in 0..20 {
            assert_eq!(g.update(500.0 * MS, 3), 20);
        }
    }

    #[test]
    fn never_below_the_floor() {
        let mut g = Gradient::new(20, 6, 20);
        let mut rtt = 10.0 * MS;
        for _ in 0..500 {
            rtt *= 1.5;
            assert!(g.update(rtt.min(1e18), 20) >= 6);
        }
    }
}
