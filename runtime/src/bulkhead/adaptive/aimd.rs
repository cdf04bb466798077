//! AIMD, after Netflix concurrency-limits (and TCP): additive increase, multiplicative decrease.
//!
//! Once per window: a window with a drop — an attempt that timed out or failed transiently (the
//! endpoint shedding load: 429, 503, a reset), or one slower than the latency threshold —
//! multiplies the limit by 0.9 (at least −1); a window without one, in which the calls in flight
//! reached half the limit, adds 1. A window that used less than half the limit changes nothing.

/// Multiplier after a drop.
const BACKOFF: f64 = 0.9;

/// The AIMD state.
#[derive(Debug, Clone)]
pub(super) struct Aimd {
    limit: u32,
    floor: u32,
    max: u32,
}

impl Aimd {
    pub(super) fn new(initial: u32, floor: u32, max: u32) -> Self {
        Self {
            limit: initial.clamp(floor, max),
            floor,
            max,
        }
    }

    pub(super) fn limit(&self) -> u32 {
        self.limit
    }

    pub(super) fn set_bounds(&mut self, floor: u32, max: u32) {
        self.floor = floor;
        self.max = max;
        self.limit = self.limit.clamp(floor, max);
    }

    /// One window: whether it saw a drop, and the most calls it saw in flight.
    pub(super) fn update(&mut self, dropped: bool, max_in_flight: u32) -> u32 {
        if dropped {
            // Truncation is the point: 0.9 × 5 = 4.5 → 4.
            let reduced = (f64::from(self.limit) * BACKOFF) as u32;
            self.limit = reduced.min(self.limit.saturating_sub(1)).max(self.floor);
        } else if max_in_flight.saturating_mul(2) >= self.limit {
            self.limit = (self.limit + 1).min(self.max);
        }
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_cut_and_healthy_windows_add_one() {
        let mut a = Aimd::new(20, 2, 20);
        assert_eq!(a.update(true, 20), 18);
        assert_eq!(a.update(true, 18), 16);
        assert_eq!(a.update(false, 16), 17);
        assert_eq!(a.update(false, 2), 17, "app-limited");
        for _ in 0..10 {
            a.update(false, 20);
        }
        assert_eq!(a.limit(), 20, "never above the maximum");
        for _ in 0..100 {
            a.update(true, 20);
        }
        assert_eq!(a.limit(), 2, "never below the floor");
        let mut small = Aimd::new(5, 1, 5);
        assert_eq!(small.update(true, 5), 4);
        assert_eq!(small.update(true, 4), 3, "at least one less");
    }
}
