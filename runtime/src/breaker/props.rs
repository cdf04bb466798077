//! Property tests: random configs and random sequences of operations (acquire, record with random
//! durations, poll, time passing, manual commands, reconfiguration), checked against the rules
//! after every step.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::clock::Moment;

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    /// Reports one outstanding permit (picked by index), or — with none outstanding — a stale one.
    Record {
        success: bool,
        millis: u64,
        pick: usize,
    },
    /// Releases one outstanding permit (cancelled or ignored).
    Release {
        pick: usize,
    },
    Poll,
    Advance {
        millis: u64,
    },
    ForceOpen,
    Disable,
    MetricsOnly,
    Reset,
    OperatorOpen,
    OperatorHalfOpen,
    OperatorClose,
    Reconfigure(BreakerConfig),
}

fn window() -> impl Strategy<Value = WindowKind> {
    prop_oneof![
        (1u32..=20).prop_map(|size| WindowKind::Count { size }),
        (1u64..=2_000, 1u32..=10).prop_map(|(bucket_ms, buckets)| WindowKind::Time {
            size: Duration::from_millis(bucket_ms * u64::from(buckets)),
            buckets,
        }),
    ]
}

fn threshold() -> impl Strategy<Value = f64> {
    prop_oneof![Just(50.0), Just(100.0), Just(25.0), 1.0f64..=100.0]
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (
        window(),
        threshold(),
        threshold(),
        1u64..=3_000,
        1u32..=25,
        1u64..=5_000,
        1u32..=5,
        proptest::option::of((1.0f64..=3.0, 0u64..=10_000)),
        prop_oneof![Just(0u64), 1u64..=5_000],
    )
        .prop_map(
            |(window, fail, slow, slow_ms, min, reset_ms, permits, backoff, max_wait_ms)| {
                let reset = Duration::from_millis(reset_ms);
                BreakerConfig::builder()
                    .window(window)
                    .failure_rate_threshold(fail)
                    .slow_call_rate_threshold(slow)
                    .slow_call_duration(Duration::from_millis(slow_ms))
                    .minimum_calls(min)
                    .reset_timeout(reset)
                    .half_open_permits(permits)
                    .reset_backoff(backoff.map(|(multiplier, extra_ms)| ResetBackoff {
                        multiplier,
                        max: reset + Duration::from_millis(extra_ms),
                    }))
                    .max_wait_in_half_open(Duration::from_millis(max_wait_ms))
                    .build()
                    .unwrap()
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => Just(Op::Acquire),
        30 => (any::<bool>(), 0u64..=4_000, any::<usize>())
            .prop_map(|(success, millis, pick)| Op::Record { success, millis, pick }),
        6 => any::<usize>().prop_map(|pick| Op::Release { pick }),
        6 => Just(Op::Poll),
        12 => (0u64..=3_000).prop_map(|millis| Op::Advance { millis }),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        1 => Just(Op::MetricsOnly),
        2 => Just(Op::Reset),
        1 => Just(Op::OperatorOpen),
        1 => Just(Op::OperatorHalfOpen),
        1 => Just(Op::OperatorClose),
        2 => config().prop_map(Op::Reconfigure),
    ]
}

/// What the test remembers of the current half-open episode.
#[derive(Debug, Default)]
struct Episode {
    permits: u32,
    admitted: u32,
}

struct Run {
    breaker: CircuitBreaker,
    now: Moment,
    episode: Episode,
    /// Permits admitted and not yet recorded or released.
    outstanding: Vec<Permit>,
}

impl Run {
    /// Removes an outstanding permit (`true`), or makes up a stale one when none is outstanding.
    fn take(&mut self, pick: usize) -> (Permit, bool) {
        if self.outstanding.is_empty() {
            let stale = self.breaker.round().wrapping_sub(1);
            return (Permit::new(stale, pick.is_multiple_of(2)), false);
        }
        let i = pick % self.outstanding.len();
        (self.outstanding.swap_remove(i), true)
    }

    /// Applies one op and checks every property that concerns it.
    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before = self.breaker.state();
        let open_until = self.breaker.next_deadline();
        let now = self.now;
        let transition = match op {
            Op::Acquire => self.acquire(before, open_until)?,
            Op::Record {
                success,
                millis,
                pick,
            } => {
                let outcome = CallOutcome {
                    success: *success,
                    duration: Duration::from_millis(*millis),
                };
                let (permit, _) = self.take(*pick);
                let current = self.breaker.is_current(permit);
                let t = self.breaker.record(now, permit, outcome);
                if current {
                    self.check_record(before, t.as_ref())?;
                } else {
                    prop_assert!(t.is_none(), "a stale permit decided: {t:?}");
                }
                t
            }
            Op::Release { pick } => {
                let (permit, outstanding) = self.take(*pick);
                let frees = outstanding
                    && before == State::HalfOpen
                    && permit.is_trial()
                    && self.breaker.is_current(permit);
                let left = self.breaker.half_open_permits_left();
                self.breaker.release(permit);
                if frees {
                    self.episode.admitted -= 1;
                    prop_assert_eq!(self.breaker.half_open_permits_left(), left + 1);
                } else {
                    prop_assert_eq!(self.breaker.half_open_permits_left(), left);
                }
                None
            }
            Op::Poll => self.breaker.poll(now),
            Op::Advance { millis } => {
                self.now = now + Duration::from_millis(*millis);
                None
            }
            Op::ForceOpen => self.breaker.force_open(now),
            Op::Disable => self.breaker.disable(now),
            Op::MetricsOnly => self.breaker.metrics_only(now),
            Op::Reset => self.breaker.reset(now),
            Op::OperatorOpen => self.breaker.transition_to_open(now),
            Op::OperatorHalfOpen => self.breaker.transition_to_half_open(now),
            Op::OperatorClose => self.breaker.transition_to_closed(now),
            Op::Reconfigure(config) => {
                self.breaker.reconfigure(config.clone(), now);
                None
            }
        };
        if let Some(t) = &transition {
            self.check_transition(t, before, open_until, matches!(op, Op::Acquire))?;
        } else if !matches!(op, Op::Acquire) {
            prop_assert_eq!(
                self.breaker.state(),
                before,
                "state changed without a transition"
            );
        }
        self.check_state()
    }

    fn acquire(
        &mut self,
        before: State,
        open_until: Option<Moment>,
    ) -> Result<Option<Transition>, TestCaseError> {
        let now = self.now;
        let result = self.breaker.try_acquire(now);
        match (before, &result) {
            (State::Closed | State::Disabled | State::MetricsOnly, r) => {
                let admitted = r.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(admitted.transition.as_ref(), None);
                prop_assert!(!admitted.permit.is_trial());
            }
            (State::ForcedOpen, r) => prop_assert_eq!(
                r,
                &Err(Rejected {
                    state: State::ForcedOpen,
                    retry_after: None
                })
            ),
            (State::Open, Err(rejected)) => {
                let until = open_until.unwrap_or(now);
                prop_assert!(now < until, "refused after the reset timeout");
                prop_assert_eq!(rejected.retry_after, Some(until - now));
            }
            (State::Open, Ok(admitted)) => {
                prop_assert!(
                    admitted.transition.is_some(),
                    "open admitted a call without half-opening"
                );
                prop_assert!(admitted.permit.is_trial());
                prop_assert!(
                    now >= open_until.unwrap_or(now),
                    "open admitted a call early"
                );
            }
            (State::HalfOpen, Ok(admitted)) => {
                prop_assert!(admitted.transition.is_none());
                prop_assert!(admitted.permit.is_trial());
                self.episode.admitted += 1;
                prop_assert!(
                    self.episode.admitted <= self.episode.permits,
                    "half-open admitted {} calls with {} permits",
                    self.episode.admitted,
                    self.episode.permits
                );
            }
            (State::HalfOpen, Err(rejected)) => {
                prop_assert_eq!(rejected.state, State::HalfOpen);
                prop_assert_eq!(self.episode.admitted, self.episode.permits);
            }
        }
        if let Ok(admitted) = &result {
            prop_assert_eq!(admitted.permit.round(), self.breaker.round());
            self.outstanding.push(admitted.permit);
        }
        Ok(result.ok().and_then(|a| a.transition))
    }

    fn check_record(&self, before: State, t: Option<&Transition>) -> Result<(), TestCaseError> {
        let config = self.breaker.config();
        let snap = self.breaker.snapshot(self.now);
        match before {
            State::Open | State::ForcedOpen | State::Disabled | State::MetricsOnly => {
                prop_assert!(t.is_none(), "{before:?} transitioned on a result");
            }
            State::Closed => match t.map(|t| &t.reason) {
                None => {
                    if let Some(rate) = snap.failure_rate {
                        prop_assert!(rate < config.failure_rate_threshold());
                    }
                    if let Some(rate) = snap.slow_call_rate {
                        prop_assert!(rate < config.slow_call_rate_threshold());
                    }
                }
                Some(TransitionReason::FailureRateExceeded {
                    rate,
                    threshold,
                    calls,
                }) => {
                    prop_assert!(
                        *calls >= config.effective_minimum_calls(),
                        "tripped on {calls} calls"
                    );
                    prop_assert_eq!(*calls, snap.calls);
                    prop_assert!(rate >= threshold);
                    prop_assert_eq!(snap.failure_rate, Some(*rate));
                }
                Some(TransitionReason::SlowCallRateExceeded {
                    rate,
                    threshold,
                    calls,
                }) => {
                    prop_assert!(
                        *calls >= config.effective_minimum_calls(),
                        "tripped on {calls} calls"
                    );
                    prop_assert_eq!(*calls, snap.calls);
                    prop_assert!(rate >= threshold);
                    prop_assert_eq!(snap.slow_call_rate, Some(*rate));
                }
                Some(other) => prop_assert!(false, "closed left on a result for {other:?}"),
            },
            State::HalfOpen => {}
        }
        Ok(())
    }

    fn check_transition(
        &mut self,
        t: &Transition,
        before: State,
        open_until: Option<Moment>,
        via_acquire: bool,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(t.from, before);
        prop_assert_eq!(t.to, self.breaker.state());
        prop_assert_eq!(t.at, self.now);
        prop_assert_ne!(t.from, t.to);
        match t.to {
            State::HalfOpen => {
                if let TransitionReason::ResetTimeoutElapsed { .. } = t.reason {
                    prop_assert_eq!(t.from, State::Open);
                    let until = open_until.unwrap_or(Moment::ZERO);
                    prop_assert!(t.at >= until, "half-opened before the reset timeout");
                } else {
                    prop_assert_eq!(&t.reason, &TransitionReason::HalfOpenedByOperator);
                }
                prop_assert_eq!(
                    self.breaker.snapshot(self.now).calls,
                    0,
                    "window not cleared"
                );
                // A half-opening try_acquire admitted its call as the first trial.
                self.episode = Episode {
                    permits: self.breaker.config().half_open_permits(),
                    admitted: u32::from(via_acquire),
                };
            }
            State::Open => {
                let config = self.breaker.config();
                let opens = self.breaker.snapshot(self.now).consecutive_opens;
                let timeout = config.reset_timeout_for(opens);
                prop_assert_eq!(self.breaker.next_deadline(), Some(t.at + timeout));
                let cap = config
                    .reset_backoff()
                    .map_or(config.reset_timeout(), |b| b.max);
                prop_assert!(timeout <= cap && timeout >= config.reset_timeout());
            }
            _ => {}
        }
        Ok(())
    }

    fn check_state(&self) -> Result<(), TestCaseError> {
        let b = &self.breaker;
        if let Err(e) = b.check_invariants() {
            prop_assert!(false, "{e}");
        }
        let snap = b.snapshot(self.now);
        let minimum = match b.state() {
            State::HalfOpen => 1,
            _ => b.config().effective_minimum_calls(),
        };
        if snap.calls < minimum {
            prop_assert_eq!(snap.failure_rate, None);
            prop_assert_eq!(snap.slow_call_rate, None);
        }
        if b.state() == State::HalfOpen {
            prop_assert_eq!(
                b.half_open_permits_left(),
                self.episode.permits - self.episode.admitted
            );
        } else {
            prop_assert_eq!(b.half_open_permits_left(), 0);
        }
        let waits = !b.config().max_wait_in_half_open().is_zero();
        prop_assert_eq!(
            b.next_deadline().is_some(),
            b.state() == State::Open || (b.state() == State::HalfOpen && waits)
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_rule(
        config in config(),
        start in 0u64..=1_000_000,
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let now = Moment::ZERO + Duration::from_millis(start);
        let mut run = Run {
            breaker: CircuitBreaker::new(config, now),
            now,
            episode: Episode::default(),
            outstanding: Vec::new(),
        };
        run.check_state()?;
        for op in &ops {
            run.step(op)?;
        }
    }

    #[test]
    fn failures_only_trip_with_enough_calls(
        config in config(),
        outcomes in proptest::collection::vec((any::<bool>(), 0u64..=4_000, 0u64..=500), 0..200),
    ) {
        let mut now = Moment::ZERO;
        let mut b = CircuitBreaker::new(config, now);
        for (success, millis, gap) in outcomes {
            now = now + Duration::from_millis(gap);
            let Ok(admitted) = b.try_acquire(now) else {
                continue;
            };
            let t = b.record(
                now,
                admitted.permit,
                CallOutcome { success, duration: Duration::from_millis(millis) },
            );
            if let Some(Transition { reason: TransitionReason::FailureRateExceeded { calls, .. }
                | TransitionReason::SlowCallRateExceeded { calls, .. }, .. }) = t
            {
                prop_assert!(calls >= b.config().effective_minimum_calls());
                if let WindowKind::Count { size } = *b.config().window() {
                    prop_assert!(calls >= b.config().minimum_calls().min(size));
                } else {
                    prop_assert!(calls >= b.config().minimum_calls());
                }
            }
            if let Err(e) = b.check_invariants() {
                prop_assert!(false, "{e}");
            }
        }
    }

    #[test]
    fn half_open_verdict_matches_the_trials(
        config in config(),
        trials in proptest::collection::vec((any::<bool>(), 0u64..=4_000), 1..=5),
    ) {
        let mut now = Moment::ZERO;
        let mut b = CircuitBreaker::new(config, now);
        b.force_open(now);
        b.reset(now);
        // Trip it with failures, whatever the window.
        while b.state() == State::Closed {
            if let Ok(admitted) = b.try_acquire(now) {
                b.record(now, admitted.permit, CallOutcome::failure(Duration::ZERO));
            }
        }
        now = b.next_deadline().unwrap_or(now);
        prop_assert_eq!(b.poll(now).map(|t| t.to), Some(State::HalfOpen));
        let permits = b.config().half_open_permits();
        let mut tickets = Vec::new();
        while let Ok(admitted) = b.try_acquire(now) {
            tickets.push(admitted.permit);
        }
        prop_assert_eq!(tickets.len(), permits as usize);
        let slow_at = b.config().slow_call_duration();
        let (mut failed, mut slow, mut reported) = (0u32, 0u32, 0u32);
        let threshold_reached = |part: u32, threshold: f64| f64::from(part) * 100.0 >= threshold * f64::from(permits);
        for ((success, millis), permit) in trials.into_iter().zip(tickets) {
            let duration = Duration::from_millis(millis);
            failed += u32::from(!success);
            slow += u32::from(duration >= slow_at);
            reported += 1;
            let t = b.record(now, permit, CallOutcome { success, duration });
            let certain = threshold_reached(failed, b.config().failure_rate_threshold())
                || threshold_reached(slow, b.config().slow_call_rate_threshold());
            match t.as_ref().map(|t| t.to) {
                Some(State::Open) => prop_assert!(certain),
                Some(State::Closed) => prop_assert!(!certain && reported == permits),
                None => prop_assert!(!certain && reported < permits),
                Some(other) => prop_assert!(false, "half-open went to {other:?}"),
            }
            if t.is_some() {
                break;
            }
        }
        if let Err(e) = b.check_invariants() {
            prop_assert!(false, "{e}");
        }
    }
}
