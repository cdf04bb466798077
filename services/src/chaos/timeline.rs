//! Breaker transitions during a run, and the times to detect and to recover that follow from
//! them and the fault schedule.

use std::sync::{Arc, Mutex, PoisonError};

use bulwark_runtime::breaker::State;
use bulwark_runtime::dependency::Controls;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::scenario::FaultStep;

/// One observed transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// When the runner saw it.
    pub at: Instant,
    /// Which dependency.
    pub dependency: String,
    /// The state entered.
    pub to: State,
    /// The state left.
    pub from: State,
}

/// Transitions of the watched dependencies, recorded as they happen.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// What the timeline says about a fault schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Closed → open transitions of watched breakers.
    pub trips: u64,
    /// The longest fault start → open, in ms.
    pub detect_ms: Option<u64>,
    /// The longest fault end → closed, in ms.
    pub recover_ms: Option<u64>,
    /// Watched dependencies whose breaker never opened during their fault.
    pub undetected: Vec<String>,
    /// Watched dependencies whose breaker was still not closed when the run ended.
    pub unrecovered: Vec<String>,
}

impl Timeline {
    /// Starts recording the transitions of each of `controls` (tasks end with the runtime).
    pub fn watch(controls: impl IntoIterator<Item = Controls>) -> Self {
        let timeline = Self::default();
        for control in controls {
            let mut rx = control.subscribe();
            let seen = Arc::clone(&timeline.seen);
            tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(event) => {
                            seen.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(Seen {
                                    at: Instant::now(),
                                    dependency: event.dependency.to_string(),
                                    to: event.transition.to,
                                    from: event.transition.from,
                                })
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    }
                }
            });
        }
        timeline
    }

    /// Records a transition by hand (tests, or observers of other sources).
    pub fn push(&self, seen: Seen) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }

    /// Times to detect and recover for `faults` of a run that started at `start` and ended at
    /// `end`.
    pub fn verdict(&self, faults: &[FaultStep], start: Instant, end: Instant) -> Verdict {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut verdict = Verdict {
            trips: seen
                .iter()
                .filter(|s| s.from == State::Closed && s.to == State::Open)
                .count() as u64,
            ..Verdict::default()
        };
        for fault in faults {
            let name = fault.watched();
            if name.is_empty() {
                continue;
            }
            let from = start + fault.at;
            let until = fault.until.map_or(end, |u| start + u);
            let of_dep = || seen.iter().filter(|s| s.dependency == name);
            let opened = of_dep().find(|s| s.to == State::Open && s.at >= from && s.at <= until);
            let Some(opened) = opened else {
                verdict.undetected.push(name.to_owned());
                continue;
            };
            let detect = millis(opened.at - from);
            verdict.detect_ms = Some(verdict.detect_ms.map_or(detect, |d| d.max(detect)));
            if fault.until.is_none() {
                continue;
            }
            match of_dep().find(|s| s.to == State::Closed && s.at >= until) {
                Some(closed) => {
                    let recover = millis(closed.at - until);
                    verdict.recover_ms =
                        Some(verdict.recover_ms.map_or(recover, |r| r.max(recover)));
                }
                None => verdict.unrecovered.push(name.to_owned()),
            }
        }
        verdict
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::chaos::scenario::FaultKind;

    fn fault(at: u64, until: u64) -> FaultStep {
        FaultStep {
            at: Duration::from_secs(at),
            until: Some(Duration::from_secs(until)),
            target: "dep".into(),
            kind: FaultKind::Upstream,
            upstream: None,
            every: None,
            watch: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn detection_and_recovery_follow_the_schedule() {
        let start = Instant::now();
        let timeline = Timeline::default();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let push = |ms, from, to| {
            timeline.push(Seen {
                at: at(ms),
                dependency: "dep".into(),
                from,
                to,
            });
        };
        push(5_400, State::Closed, State::Open);
        push(10_400, State::Open, State::HalfOpen);
        push(10_500, State::HalfOpen, State::Open);
        push(13_000, State::Open, State::HalfOpen);
        push(13_100, State::HalfOpen, State::Closed);
        let verdict = timeline.verdict(&[fault(5, 12)], start, at(20_000));
        assert_eq!(verdict.trips, 1);
        assert_eq!(verdict.detect_ms, Some(400));
        assert_eq!(verdict.recover_ms, Some(1_100));
        assert!(verdict.undetected.is_empty() && verdict.unrecovered.is_empty());
        let never = timeline.verdict(&[fault(15, 18)], start, at(20_000));
        assert_eq!(never.undetected, vec!["dep".to_owned()]);
    }
}
