//! Draining: the actor feeds every waiting outcome to the breaker, applies time-driven
//! transitions, counts the calls that ended in success and publishes the result.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorRef;

use crate::breaker::{CallOutcome, CircuitBreaker, Permit, State, Transition, WindowKind};
use crate::clock::Moment;

use super::actor::{ActorState, DependencyMsg};
use super::outcomes::OutcomeRecord;
use super::traits::Dependency;

impl<D: Dependency> ActorState<D> {
    /// Feeds every waiting outcome to the breaker, applies time-driven transitions, publishes.
    pub(super) fn drain(&mut self, myself: &ActorRef<DependencyMsg>) {
        let shared = Arc::clone(&self.args.shared);
        shared.outcomes.clear_wake();
        let mut breaker = shared.breaker();
        let mut transitions: Vec<Transition> = Vec::new();
        breaker.count_not_permitted(shared.metrics.flush_refusals());
        // Fast successes first (only their number is known), then the individual records.
        let successes = shared.outcomes.take_successes();
        let mut call_successes = successes;
        let mut requests = successes;
        let start = shared.clock.now().max(self.last_fed);
        self.last_fed = start;
        let fed = match breaker.config().window() {
            // Beyond a count window's size, more successes change nothing.
            WindowKind::Count { size } => successes.min(u64::from(*size)),
            WindowKind::Time { .. } => successes,
        };
        for _ in 0..fed {
            let permit = Permit::new(breaker.round(), false);
            if let Some(t) = breaker.record(start, permit, CallOutcome::success(Duration::ZERO)) {
                transitions.push(t);
            }
        }
        while let Some(rec) = shared.outcomes.pop() {
            requests += u64::from(rec.first_attempt);
            call_successes += u64::from(rec.success && !rec.probe);
            let at = rec.at.max(self.last_fed);
            self.last_fed = at;
            if let Some(t) = feed(&mut breaker, at, rec) {
                transitions.push(t);
            }
        }
        let overflow = shared.outcomes.take_overflow();
        let now = shared.clock.now().max(self.last_fed);
        self.last_fed = now;
        call_successes += overflow.successes + overflow.slow_successes;
        requests += overflow.successes
            + overflow.failures
            + overflow.slow_successes
            + overflow.slow_failures;
        let slow = breaker.config().slow_call_duration();
        let batches = [
            (overflow.successes, true, Duration::ZERO),
            (overflow.failures, false, Duration::ZERO),
            (overflow.slow_successes, true, slow),
            (overflow.slow_failures, false, slow),
        ];
        for (count, success, duration) in batches {
            for _ in 0..count {
                let permit = Permit::new(breaker.round(), false);
                let outcome = CallOutcome { success, duration };
                if let Some(t) = breaker.record(now, permit, outcome) {
                    transitions.push(t);
                }
            }
        }
        if let Some(t) = breaker.poll(now) {
            transitions.push(t);
        }
        shared.metrics.successes(call_successes);
        if requests > 0 {
            shared.settings.load().budget.deposit_n(now, requests);
        }
        shared.gate.set_coarse_now(now);
        // Publish only on transitions: between them, handles own the gate's trial permits.
        for t in &transitions {
            shared.publish(&breaker, t);
        }
        let next = breaker.next_deadline();
        let current = breaker.state();
        drop(breaker);
        self.arm_timer(myself, next, now);
        if current == State::HalfOpen && !self.probe_scheduled {
            let policy = shared.policy();
            if policy.probe.enabled {
                self.probe_scheduled = true;
                myself.send_after(policy.probe.interval, || DependencyMsg::Probe);
            }
        }
    }

    fn arm_timer(&mut self, myself: &ActorRef<DependencyMsg>, next: Option<Moment>, now: Moment) {
        let Some(at) = next else {
            self.timer_at = None;
            return;
        };
        if self.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        self.timer_at = Some(at);
        let delay = at.saturating_duration_since(now);
        myself.send_after(delay, || DependencyMsg::BreakerTimer);
    }
}

/// Feeds one attempt's outcome to the breaker. The ticket decides: a result of another round is
/// stale and ignored by the breaker; a trial of the current half-open round is mirrored (handles
/// took its permit from the published gate) and then judged.
fn feed(breaker: &mut CircuitBreaker, at: Moment, rec: OutcomeRecord) -> Option<Transition> {
    let outcome = CallOutcome {
        success: rec.success,
        duration: Duration::from_nanos(rec.duration_nanos),
    };
    if !rec.permit.is_trial() {
        return breaker.record(at, rec.permit, outcome);
    }
    if breaker.state() != State::HalfOpen || !breaker.is_current(rec.permit) {
        return None;
    }
    let admitted = breaker.try_acquire(at).ok()?;
    breaker
        .record(at, admitted.permit, outcome)
        .or(admitted.transition)
}
