//! Deterministic tests of the breaker on invented timelines.

use std::time::Duration;

use super::*;
use crate::clock::Moment;

fn at(secs: u64) -> Moment {
    Moment::ZERO + Duration::from_secs(secs)
}

fn at_ms(ms: u64) -> Moment {
    Moment::ZERO + Duration::from_millis(ms)
}

const OK: CallOutcome = CallOutcome::success(Duration::from_millis(10));
const ERR: CallOutcome = CallOutcome::failure(Duration::from_millis(10));

/// Count window of 10, minimum 5 calls, 50 %, 30 s reset, 3 trials.
fn config() -> BreakerConfigBuilder {
    BreakerConfig::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .reset_timeout(Duration::from_secs(30))
        .half_open_permits(3)
}

/// Records `outcome` as an admitted call; the transition admitting it made (Open → HalfOpen)
/// is returned when recording makes none.
fn call(b: &mut CircuitBreaker, now: Moment, outcome: CallOutcome) -> Option<Transition> {
    let admitted = b
        .try_acquire(now)
        .unwrap_or_else(|r| panic!("call refused in {:?}: {r}", b.state()));
    let t = b.record(now, admitted.permit, outcome);
    b.check_invariants().unwrap();
    t.or(admitted.transition)
}

/// Admits a call and returns its permit.
fn admit(b: &mut CircuitBreaker, now: Moment) -> Permit {
    b.try_acquire(now).unwrap().permit
}

fn tripped(now: Moment) -> CircuitBreaker {
    let mut b = CircuitBreaker::new(config().build().unwrap(), now);
    for _ in 0..4 {
        assert!(call(&mut b, now, ERR).is_none());
    }
    assert_eq!(call(&mut b, now, ERR).unwrap().to, State::Open);
    b
}

#[test]
fn trips_exactly_at_the_threshold() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    // 4 of 9 failed (44 %): no trip; the 10th call makes it 5 of 10 (exactly 50 %).
    for outcome in [OK, OK, OK, OK, OK, ERR, ERR, ERR, ERR] {
        assert!(call(&mut b, at(0), outcome).is_none());
    }
    assert_eq!(b.snapshot(at(0)).failure_rate, Some(4.0 * 100.0 / 9.0));
    let t = call(&mut b, at(1), ERR).unwrap();
    assert_eq!((t.from, t.to, t.at), (State::Closed, State::Open, at(1)));
    assert_eq!(
        t.reason,
        TransitionReason::FailureRateExceeded {
            rate: 50.0,
            threshold: 50.0,
            calls: 10
        }
    );
    assert!(t.reason.to_string().contains("50"));
}

#[test]
fn never_trips_before_minimum_calls() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    for _ in 0..4 {
        assert!(call(&mut b, at(0), ERR).is_none());
        assert_eq!(b.snapshot(at(0)).failure_rate, None);
    }
    assert_eq!(b.state(), State::Closed);
    assert!(
        call(&mut b, at(0), ERR).is_some(),
        "the 5th failure trips it"
    );
}

#[test]
fn minimum_calls_above_a_count_window_is_capped_at_its_size() {
    let config = config()
        .window(WindowKind::Count { size: 4 })
        .minimum_calls(20)
        .build()
        .unwrap();
    assert_eq!(config.effective_minimum_calls(), 4);
    let mut b = CircuitBreaker::new(config, at(0));
    for _ in 0..3 {
        assert!(call(&mut b, at(0), ERR).is_none());
    }
    assert_eq!(call(&mut b, at(0), ERR).unwrap().to, State::Open);
}

#[test]
fn slow_calls_trip_it() {
    let config = config()
        .slow_call_duration(Duration::from_secs(2))
        .slow_call_rate_threshold(80.0)
        .build()
        .unwrap();
    let mut b = CircuitBreaker::new(config, at(0));
    let slow_ok = CallOutcome::success(Duration::from_secs(2));
    assert!(call(&mut b, at(0), OK).is_none());
    for _ in 0..3 {
        assert!(call(&mut b, at(0), slow_ok).is_none());
    }
    // 4 of 5 slow = 80 %, all successful.
    let t = call(&mut b, at(0), slow_ok).unwrap();
    assert_eq!(
        t.reason,
        TransitionReason::SlowCallRateExceeded {
            rate: 80.0,
            threshold: 80.0,
            calls: 5
        }
    );
}

#[test]
fn time_window_forgets_old_buckets() {
    let config = config()
        .window(WindowKind::Time {
            size: Duration::from_secs(10),
            buckets: 10,
        })
        .build()
        .unwrap();
    let mut b = CircuitBreaker::new(config, at(0));
    for _ in 0..4 {
        assert!(call(&mut b, at(0), ERR).is_none());
    }
    // Ten seconds later the four failures have slid out: one more is 1 of 1, below minimum.
    assert_eq!(b.snapshot(at(10)).calls, 0);
    assert!(b.poll(at(10)).is_none());
    assert_eq!(b.snapshot(at(10)).calls, 0);
    assert!(call(&mut b, at(10), ERR).is_none());
    assert_eq!(b.snapshot(at(10)).calls, 1);
    // Within the window they add up.
    for s in 11..14 {
        assert!(call(&mut b, at(s), ERR).is_none());
    }
    assert_eq!(call(&mut b, at_ms(14_500), ERR).unwrap().to, State::Open);
}

#[test]
fn open_rejects_until_the_reset_timeout_then_half_opens() {
    let mut b = tripped(at(100));
    assert_eq!(b.next_deadline(), Some(at(130)));
    let refused = b.try_acquire(at(100)).unwrap_err();
    assert_eq!(
        refused,
        Rejected {
            state: State::Open,
            retry_after: Some(Duration::from_secs(30))
        }
    );
    let refused = b.try_acquire(at_ms(129_999)).unwrap_err();
    assert_eq!(refused.retry_after, Some(Duration::from_millis(1)));
    assert!(b.poll(at_ms(129_999)).is_none());
    // Late results of calls admitted before the trip are ignored.
    assert!(b.record(at(110), Permit::new(0, false), OK).is_none());
    assert_eq!(b.state(), State::Open);

    let t = b.try_acquire(at(130)).unwrap().transition.unwrap();
    assert_eq!((t.from, t.to), (State::Open, State::HalfOpen));
    assert_eq!(
        t.reason,
        TransitionReason::ResetTimeoutElapsed {
            waited: Duration::from_secs(30)
        }
    );
    assert_eq!(
        b.half_open_permits_left(),
        2,
        "the call that half-opened it is a trial"
    );
    assert_eq!(b.next_deadline(), None, "no max_wait_in_half_open");
}

#[test]
fn poll_half_opens_an_idle_breaker() {
    let mut b = tripped(at(0));
    let t = b.poll(at(31)).unwrap();
    assert_eq!(t.to, State::HalfOpen);
    assert_eq!(b.half_open_permits_left(), 3);
    assert!(b.poll(at(32)).is_none());
}

#[test]
fn half_open_admits_its_permits_per_round() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let round = b.round();
    let mut permits = Vec::new();
    for left in [2, 1, 0] {
        let admitted = b.try_acquire(at(30)).unwrap();
        assert_eq!(admitted.transition, None);
        assert!(admitted.permit.is_trial());
        assert_eq!(admitted.permit.round(), round);
        permits.push(admitted.permit);
        assert_eq!(b.half_open_permits_left(), left);
    }
    assert_eq!(
        b.try_acquire(at(30)),
        Err(Rejected {
            state: State::HalfOpen,
            retry_after: None
        })
    );
    // A finished trial does not free its permit.
    assert!(b.record(at(30), permits[0], OK).is_none());
    assert!(b.try_acquire(at(31)).is_err());
    let snap = b.snapshot(at(31));
    assert_eq!((snap.half_open_in_flight, snap.not_permitted), (2, 2));
}

#[test]
fn successful_trials_close_with_an_empty_window() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let p: Vec<Permit> = (0..3).map(|_| admit(&mut b, at(30))).collect();
    assert!(b.record(at(31), p[0], OK).is_none());
    assert!(
        b.record(at(31), p[1], ERR).is_none(),
        "1 of 3 is below 50 %"
    );
    let snap = b.snapshot(at(31));
    assert_eq!(
        (snap.calls, snap.failed, snap.failure_rate),
        (2, 1, Some(50.0)),
        "half-open shows its round's trials"
    );
    let t = b.record(at(32), p[2], OK).unwrap();
    assert_eq!((t.from, t.to), (State::HalfOpen, State::Closed));
    assert_eq!(
        t.reason,
        TransitionReason::TrialsSucceeded {
            failure_rate: 100.0 / 3.0,
            slow_rate: 0.0
        }
    );
    let snap = b.snapshot(at(32));
    assert_eq!((snap.calls, snap.consecutive_opens), (0, 0));
    b.check_invariants().unwrap();
}

#[test]
fn failing_trials_reopen_as_soon_as_the_verdict_is_certain() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let p: Vec<Permit> = (0..3).map(|_| admit(&mut b, at(30))).collect();
    assert!(
        b.record(at(31), p[0], ERR).is_none(),
        "1 of 3 cannot reach 50 % yet"
    );
    let t = b.record(at(31), p[1], ERR).unwrap();
    assert_eq!((t.from, t.to), (State::HalfOpen, State::Open));
    assert_eq!(
        t.reason,
        TransitionReason::TrialsFailed {
            failure_rate: 100.0,
            slow_rate: 0.0
        }
    );
    assert_eq!(b.next_deadline(), Some(at(61)), "no backoff configured");
    // The third trial's result comes too late to matter.
    assert!(b.record(at(32), p[2], OK).is_none());
    assert_eq!(b.snapshot(at(32)).consecutive_opens, 2);
    b.check_invariants().unwrap();
}

#[test]
fn a_released_trial_gives_its_place_back() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let p: Vec<Permit> = (0..3).map(|_| admit(&mut b, at(30))).collect();
    // The caller of the second trial went away (cancelled): its place is free again.
    b.release(p[1]);
    assert_eq!(b.half_open_permits_left(), 1);
    let again = admit(&mut b, at(31));
    for permit in [p[0], p[2]] {
        assert!(b.record(at(31), permit, OK).is_none());
    }
    assert_eq!(b.record(at(31), again, OK).unwrap().to, State::Closed);
    b.check_invariants().unwrap();
}

#[test]
fn every_cancelled_trial_still_lets_the_round_finish() {
    // Two permits, both cancelled: the round is not wedged, later callers decide it.
    let mut b = CircuitBreaker::new(config().half_open_permits(2).build().unwrap(), at(0));
    for _ in 0..5 {
        call(&mut b, at(0), ERR);
    }
    b.poll(at(30));
    let (x, y) = (admit(&mut b, at(30)), admit(&mut b, at(30)));
    b.release(x);
    b.release(y);
    assert_eq!(b.state(), State::HalfOpen);
    assert!(call(&mut b, at(3600), OK).is_none());
    assert_eq!(call(&mut b, at(3600), OK).unwrap().to, State::Closed);
}

#[test]
fn a_stale_trial_cannot_decide_a_later_round() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let slow_trial = admit(&mut b, at(30));
    // The other two trials fail: the circuit reopens while the first is still running.
    let p: Vec<Permit> = (0..2).map(|_| admit(&mut b, at(30))).collect();
    b.record(at(31), p[0], ERR);
    assert_eq!(b.record(at(31), p[1], ERR).unwrap().to, State::Open);
    // Next round.
    b.poll(at(61));
    assert_eq!(b.state(), State::HalfOpen);
    let fresh = admit(&mut b, at(61));
    // The slow trial of the earlier round reports now: it is ignored, not taken for `fresh`.
    assert!(b.record(at(62), slow_trial, OK).is_none());
    assert_eq!(b.snapshot(at(62)).half_open_in_flight, 1);
    b.release(slow_trial);
    assert_eq!(
        b.half_open_permits_left(),
        2,
        "a stale release frees nothing"
    );
    assert!(b.record(at(62), fresh, OK).is_none());
    b.check_invariants().unwrap();
}

#[test]
fn a_late_result_of_a_closed_call_is_not_a_trial_result() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    let early = admit(&mut b, at(0));
    for _ in 0..5 {
        call(&mut b, at(0), ERR);
    }
    b.poll(at(30));
    let trial = admit(&mut b, at(30));
    assert!(b.record(at(31), early, ERR).is_none());
    assert_eq!(b.snapshot(at(31)).half_open_in_flight, 1);
    assert_eq!(b.state(), State::HalfOpen);
    assert!(b.record(at(31), trial, OK).is_none());
}

#[test]
fn max_wait_in_half_open_reopens_a_round_without_verdict() {
    let config = config()
        .max_wait_in_half_open(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut b = CircuitBreaker::new(config, at(0));
    for _ in 0..5 {
        call(&mut b, at(0), ERR);
    }
    b.poll(at(30));
    let _hanging = admit(&mut b, at(30));
    assert_eq!(b.next_deadline(), Some(at(40)));
    assert!(b.poll(at(39)).is_none());
    let t = b.poll(at(40)).unwrap();
    assert_eq!((t.from, t.to), (State::HalfOpen, State::Open));
    assert_eq!(
        t.reason,
        TransitionReason::HalfOpenTimedOut {
            waited: Duration::from_secs(10)
        }
    );
    assert_eq!(b.snapshot(at(40)).consecutive_opens, 2);
    b.check_invariants().unwrap();
}

#[test]
fn manual_transitions_for_operators() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    call(&mut b, at(0), ERR);
    let t = b.transition_to_open(at(1)).unwrap();
    assert_eq!(
        (t.to, t.reason.clone()),
        (State::Open, TransitionReason::OpenedByOperator)
    );
    assert_eq!(b.next_deadline(), Some(at(31)));
    assert!(b.transition_to_open(at(2)).is_none(), "already open");
    let t = b.transition_to_half_open(at(2)).unwrap();
    assert_eq!(t.reason, TransitionReason::HalfOpenedByOperator);
    assert_eq!(b.half_open_permits_left(), 3);
    b.check_invariants().unwrap();
    let t = b.transition_to_closed(at(3)).unwrap();
    assert_eq!((t.from, t.to), (State::HalfOpen, State::Closed));
    let snap = b.snapshot(at(3));
    assert_eq!((snap.calls, snap.consecutive_opens), (0, 0));
    assert!(b.transition_to_closed(at(3)).is_none());
    // From a manual state too.
    b.force_open(at(4));
    assert_eq!(
        b.transition_to_half_open(at(5)).unwrap().from,
        State::ForcedOpen
    );
    b.check_invariants().unwrap();
}

#[test]
fn the_window_is_cleared_on_entering_half_open_forced_open_and_disabled() {
    for enter in [
        |b: &mut CircuitBreaker| b.poll(at(30)),
        |b: &mut CircuitBreaker| b.force_open(at(30)),
        |b: &mut CircuitBreaker| b.disable(at(30)),
    ] {
        let mut b = tripped(at(0));
        assert_eq!(b.snapshot(at(1)).calls, 5, "open shows the tripping window");
        enter(&mut b).unwrap();
        assert_eq!(b.snapshot(at(30)).calls, 0, "{:?}", b.state());
    }
}

#[test]
fn not_permitted_counts_refusals_of_the_current_state() {
    let mut b = tripped(at(0));
    for _ in 0..3 {
        assert!(b.try_acquire(at(1)).is_err());
    }
    b.count_not_permitted(2);
    assert_eq!(b.snapshot(at(1)).not_permitted, 5);
    b.poll(at(30));
    assert_eq!(b.snapshot(at(30)).not_permitted, 0);
}

#[test]
fn reset_timeout_backs_off_while_down_and_is_capped() {
    let backoff = ResetBackoff {
        multiplier: 2.0,
        max: Duration::from_secs(100),
    };
    let config = config()
        .half_open_permits(1)
        .reset_backoff(backoff)
        .build()
        .unwrap();
    let mut now = at(0);
    let mut b = CircuitBreaker::new(config, now);
    for _ in 0..5 {
        call(&mut b, now, ERR);
    }
    let mut timeouts = Vec::new();
    for _ in 0..5 {
        let until = b.next_deadline().unwrap();
        timeouts.push((until - now).as_secs());
        now = until;
        let admitted = b.try_acquire(now).unwrap();
        assert_eq!(admitted.transition.unwrap().to, State::HalfOpen);
        assert_eq!(b.record(now, admitted.permit, ERR).unwrap().to, State::Open);
        b.check_invariants().unwrap();
    }
    assert_eq!(timeouts, [30, 60, 100, 100, 100]);
    // A successful trial starts over.
    now = b.next_deadline().unwrap();
    let trial = admit(&mut b, now);
    assert_eq!(b.record(now, trial, OK).unwrap().to, State::Closed);
    for _ in 0..5 {
        call(&mut b, now, ERR);
    }
    assert_eq!(b.next_deadline(), Some(now + Duration::from_secs(30)));
}

#[test]
fn manual_states() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));

    let t = b.force_open(at(1)).unwrap();
    assert_eq!(
        (t.from, t.to, t.reason.clone()),
        (
            State::Closed,
            State::ForcedOpen,
            TransitionReason::ForcedOpen
        )
    );
    assert!(b.force_open(at(1)).is_none(), "already there");
    assert_eq!(
        b.try_acquire(at(1000)),
        Err(Rejected {
            state: State::ForcedOpen,
            retry_after: None
        })
    );
    assert!(
        b.record(at(2), Permit::new(b.round(), false), ERR)
            .is_none()
    );
    assert_eq!(b.poll(at(1000)), None);
    assert_eq!(b.next_deadline(), None);

    assert_eq!(b.disable(at(3)).unwrap().to, State::Disabled);
    for _ in 0..20 {
        assert!(call(&mut b, at(3), ERR).is_none());
    }
    assert_eq!(b.snapshot(at(3)).calls, 0, "disabled records nothing");

    assert_eq!(
        b.metrics_only(at(4)).unwrap().reason,
        TransitionReason::MetricsOnly
    );
    for _ in 0..20 {
        assert!(call(&mut b, at(4), ERR).is_none());
    }
    let snap = b.snapshot(at(4));
    assert_eq!(
        (snap.state, snap.calls, snap.failure_rate),
        (State::MetricsOnly, 10, Some(100.0))
    );

    let t = b.reset(at(5)).unwrap();
    assert_eq!(
        (t.from, t.to, t.reason.clone()),
        (State::MetricsOnly, State::Closed, TransitionReason::Reset)
    );
    assert_eq!(b.snapshot(at(5)).calls, 0);
    assert!(b.reset(at(5)).is_none());
    b.check_invariants().unwrap();
}

#[test]
fn reset_leaves_open_and_forgets_the_backoff() {
    let mut b = tripped(at(0));
    let t = b.reset(at(1)).unwrap();
    assert_eq!((t.from, t.to), (State::Open, State::Closed));
    let snap = b.snapshot(at(1));
    assert_eq!(
        (snap.calls, snap.consecutive_opens, snap.open_until),
        (0, 0, None)
    );
    b.check_invariants().unwrap();
}

#[test]
fn metrics_only_from_closed_keeps_the_window() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    call(&mut b, at(0), ERR);
    b.metrics_only(at(0));
    assert_eq!(b.snapshot(at(0)).calls, 1);
}

#[test]
fn reconfigure_keeps_state_and_resizes_the_window() {
    let mut b = CircuitBreaker::new(config().build().unwrap(), at(0));
    for outcome in [ERR, ERR, OK, OK] {
        call(&mut b, at(0), outcome);
    }
    // Smaller count window keeps the newest calls.
    b.reconfigure(
        config()
            .window(WindowKind::Count { size: 2 })
            .build()
            .unwrap(),
        at(1),
    );
    assert_eq!(b.snapshot(at(1)).calls, 2);
    assert_eq!(b.snapshot(at(1)).failed, 0);
    b.check_invariants().unwrap();
    // Same window, higher threshold: the window is untouched and the new threshold applies.
    b.reconfigure(
        config()
            .window(WindowKind::Count { size: 2 })
            .minimum_calls(2)
            .failure_rate_threshold(100.0)
            .build()
            .unwrap(),
        at(1),
    );
    assert_eq!(b.snapshot(at(1)).calls, 2);
    assert!(call(&mut b, at(1), ERR).is_none(), "1 of 2 is below 100 %");
    assert!(call(&mut b, at(1), ERR).is_some());
    // Open keeps its reopening instant; a time window starts empty.
    let until = b.next_deadline();
    let time = WindowKind::Time {
        size: Duration::from_secs(60),
        buckets: 6,
    };
    b.reconfigure(
        config()
            .window(time.clone())
            .reset_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
        at(2),
    );
    assert_eq!((b.state(), b.next_deadline()), (State::Open, until));
    assert_eq!(b.config().window(), &time);
    assert_eq!(b.snapshot(at(2)).calls, 0);
    b.check_invariants().unwrap();
}

#[test]
fn reconfigure_in_half_open_keeps_the_episode_permits() {
    let mut b = tripped(at(0));
    b.poll(at(30));
    let p = [admit(&mut b, at(30)), admit(&mut b, at(30))];
    b.reconfigure(config().half_open_permits(1).build().unwrap(), at(30));
    assert_eq!(b.half_open_permits_left(), 1);
    b.check_invariants().unwrap();
    b.record(at(31), p[0], OK);
    b.record(at(31), p[1], OK);
    let last = admit(&mut b, at(31));
    assert_eq!(b.record(at(31), last, OK).unwrap().to, State::Closed);
}

#[test]
fn snapshot_serializes() {
    let b = tripped(at(1));
    let json = serde_json::to_value(b.snapshot(at(1))).unwrap();
    assert_eq!(json["state"], "open");
    assert_eq!(json["open_until"], 31_000_000_000_u64);
    assert_eq!(json["failure_rate"], 100.0);
}
