//! Restart intensity: at most `max_restarts` restarts within a sliding `period`.
//!
//! OTP's rule: keep the timestamps of the restarts inside the period — a restart exactly `period`
//! ago still counts (OTP keeps `t >= now - period`) — and when their number exceeds the intensity,
//! the supervisor gives up and escalates. Pure: `now` is passed in.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Sliding-window restart counter of one supervisor.
#[derive(Debug, Clone)]
pub(crate) struct Intensity {
    max_restarts: u32,
    period: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max_restarts: u32, period: Duration) -> Self {
        Self {
            max_restarts,
            period,
            restarts: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; `false` when this restart exceeds the intensity.
    pub(crate) fn record(&mut self, now: Instant) -> bool {
        self.restarts.push_back(now);
        self.prune(now);
        self.restarts.len() <= self.max_restarts as usize
    }

    /// Restarts counted inside the period ending at `now`.
    pub(crate) fn count(&mut self, now: Instant) -> usize {
        self.prune(now);
        self.restarts.len()
    }

    /// Drops the restarts older than `period` (one exactly `period` old stays).
    fn prune(&mut self, now: Instant) {
        while let Some(first) = self.restarts.front() {
            if now.saturating_duration_since(*first) > self.period {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }

    pub(crate) fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    pub(crate) fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_default_allows_one_restart_in_five_seconds() {
        let t0 = Instant::now();
        let mut i = Intensity::new(1, Duration::from_secs(5));
        assert!(i.record(t0));
        assert!(!i.record(t0 + Duration::from_secs(4)));
    }

    #[test]
    fn restarts_leave_the_window() {
        let t0 = Instant::now();
        let mut i = Intensity::new(2, Duration::from_secs(5));
        assert!(i.record(t0));
        assert!(i.record(t0 + Duration::from_secs(1)));
        assert!(i.record(t0 + Duration::from_millis(5001))); // t0 has left the window
        assert_eq!(i.count(t0 + Duration::from_millis(5001)), 2);
        assert!(!i.record(t0 + Duration::from_millis(5500)));
        assert_eq!(i.count(t0 + Duration::from_secs(60)), 0);
    }

    #[test]
    fn a_restart_exactly_one_period_ago_still_counts() {
        let t0 = Instant::now();
        let period = Duration::from_secs(5);
        let mut i = Intensity::new(1, period);
        assert!(i.record(t0));
        assert_eq!(i.count(t0 + period), 1);
        assert!(!i.record(t0 + period), "OTP keeps t >= now - period");

        let mut i = Intensity::new(1, period);
        assert!(i.record(t0));
        assert!(i.record(t0 + period + Duration::from_nanos(1)));
    }

    #[test]
    fn zero_intensity_never_restarts() {
        let mut i = Intensity::new(0, Duration::from_secs(1));
        assert!(!i.record(Instant::now()));
    }
}
