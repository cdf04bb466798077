//! The actor that owns one dependency: the single writer of its breaker state.
//!
//! Callers never wait on this actor. It wakes up to drain call outcomes (pushed by callers into a
//! bounded ring), feeds them to the breaker state machine and publishes the result; it runs the
//! breaker's timer (Open → HalfOpen), probes a half-open dependency when no traffic arrives, applies
//! policy updates and breaker commands. Its state lives in [`Shared`], outside the actor, so the
//! supervisor can restart it after a crash without forgetting that the dependency is down.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;

use crate::breaker::{CallOutcome, CircuitBreaker, State, Transition, WindowKind};
use crate::clock::Moment;
use crate::policy::Policy;

use super::context::CallContext;
use super::gate::Admission;
use super::outcomes::OutcomeRecord;
use super::shared::{ProbeStatus, Settings, Shared, lock};
use super::traits::{Dependency, Probe};

/// How often the actor drains outcomes and refreshes gauges when nothing wakes it.
pub(crate) const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// A command that changes the breaker by hand (operators, tests, chaos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerCommand {
    /// Reject every call until reset.
    ForceOpen,
    /// Admit every call, never trip.
    Disable,
    /// Admit every call, keep computing rates, never trip.
    MetricsOnly,
    /// Back to Closed with an empty window.
    Reset,
}

/// A policy update that was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyUpdateError {
    /// The retry budget settings are invalid.
    #[error(transparent)]
    Retry(#[from] crate::retry::InvalidRetryConfig),
}

/// Messages of the dependency actor.
#[derive(Debug)]
pub enum DependencyMsg {
    /// Outcomes are waiting in the ring.
    Drain,
    /// Periodic housekeeping.
    Tick,
    /// The breaker's timer fired.
    BreakerTimer,
    /// Time to probe a half-open dependency.
    Probe,
    /// A probe finished.
    ProbeDone(ProbeStatus),
    /// Replace the policy.
    UpdatePolicy(Box<Policy>, RpcReplyPort<Result<(), PolicyUpdateError>>),
    /// Change the breaker by hand; answers the new state.
    Command(BreakerCommand, RpcReplyPort<State>),
    /// Apply every outcome recorded so far, then answer the breaker state.
    Flush(RpcReplyPort<State>),
    /// A call's dependency code panicked: fail so the supervisor restarts this actor.
    DependencyPanicked(String),
    /// Chaos: panic inside the actor's own message handler.
    InjectPanic,
}

/// Spawn arguments: the same on every restart.
pub(crate) struct ActorArgs<D> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) dependency: Arc<D>,
}

impl<D> Clone for ActorArgs<D> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            dependency: Arc::clone(&self.dependency),
        }
    }
}

/// The actor's run-time state (rebuilt on each start).
pub(crate) struct ActorState<D> {
    args: ActorArgs<D>,
    housekeeping: JoinHandle<()>,
    timer_at: Option<Moment>,
    last_fed: Moment,
    probe_scheduled: bool,
}

/// The dependency actor (behaviour only; see [`ActorState`]).
pub(crate) struct DependencyActor<D>(PhantomData<fn() -> D>);

impl<D> Clone for DependencyActor<D> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

impl<D> DependencyActor<D> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<D: Dependency> Actor for DependencyActor<D> {
    type Msg = DependencyMsg;
    type State = ActorState<D>;
    type Arguments = ActorArgs<D>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let shared = &args.shared;
        if shared.incarnations.fetch_add(1, Ordering::AcqRel) > 0 {
            tracing::warn!(dependency = %shared.name, "dependency actor restarted; resetting client");
            args.dependency.reset().await;
        }
        shared.actor.store(Some(Arc::new(myself.clone())));
        let housekeeping = myself.send_interval(HOUSEKEEPING, || DependencyMsg::Tick);
        // Drain whatever arrived while no actor was running, and re-arm the breaker timer.
        myself.cast(DependencyMsg::Drain)?;
        shared.started.send_modify(|n| *n += 1);
        Ok(ActorState {
            args,
            housekeeping,
            timer_at: None,
            last_fed: Moment::ZERO,
            probe_scheduled: false,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.housekeeping.abort();
        state.args.shared.actor.store(None);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            DependencyMsg::Drain | DependencyMsg::BreakerTimer => {
                if matches!(message, DependencyMsg::BreakerTimer) {
                    state.timer_at = None;
                }
                state.drain(&myself);
            }
            DependencyMsg::Tick => {
                state.drain(&myself);
                state.refresh_gauges();
            }
            DependencyMsg::Probe => {
                state.probe_scheduled = false;
                state.start_probe(&myself);
            }
            DependencyMsg::ProbeDone(status) => {
                *lock(&state.args.shared.last_probe) = Some(status);
                state.drain(&myself);
            }
            DependencyMsg::UpdatePolicy(policy, reply) => {
                let result = state.update_policy(*policy);
                state.drain(&myself);
                let _ = reply.send(result);
            }
            DependencyMsg::Command(command, reply) => {
                let new_state = state.command(command);
                state.drain(&myself);
                let _ = reply.send(new_state);
            }
            DependencyMsg::Flush(reply) => {
                state.drain(&myself);
                let _ = reply.send(state.args.shared.gate.state());
            }
            DependencyMsg::DependencyPanicked(message) => {
                // Let it crash: the supervisor restarts this actor, which resets the client.
                return Err(ActorProcessingErr::from(format!(
                    "dependency '{}' panicked: {message}",
                    state.args.shared.name
                )));
            }
            DependencyMsg::InjectPanic => {
                state.housekeeping.abort();
                panic!(
                    "chaos: injected panic in dependency actor '{}'",
                    state.args.shared.name
                );
            }
        }
        Ok(())
    }
}

impl<D: Dependency> ActorState<D> {
    /// Feeds every waiting outcome to the breaker, applies time-driven transitions, publishes.
    fn drain(&mut self, myself: &ActorRef<DependencyMsg>) {
        let shared = Arc::clone(&self.args.shared);
        shared.outcomes.clear_wake();
        let mut breaker = shared.breaker();
        let mut transitions: Vec<Transition> = Vec::new();
        // Fast successes first (only their number is known), then the individual records.
        let successes = shared.outcomes.take_successes();
        shared.metrics.successes(successes);
        shared.metrics.flush_refusals();
        let mut requests = successes;
        let start = shared.clock.now().max(self.last_fed);
        self.last_fed = start;
        let fed = match breaker.config().window() {
            // Beyond a count window's size, more successes change nothing.
            WindowKind::Count { size } => successes.min(u64::from(*size)),
            WindowKind::Time { .. } => successes,
        };
        for _ in 0..fed {
            let rec = OutcomeRecord {
                at: start,
                duration_nanos: 0,
                success: true,
                admission: Admission::Normal,
                first_attempt: true,
            };
            if let Some(t) = feed(&mut breaker, start, rec) {
                transitions.push(t);
            }
        }
        while let Some(rec) = shared.outcomes.pop() {
            requests += u64::from(rec.first_attempt);
            let at = rec.at.max(self.last_fed);
            self.last_fed = at;
            if let Some(t) = feed(&mut breaker, at, rec) {
                transitions.push(t);
            }
        }
        let overflow = shared.outcomes.take_overflow();
        let now = shared.clock.now().max(self.last_fed);
        self.last_fed = now;
        let slow = breaker.config().slow_call_duration();
        let batches = [
            (overflow.successes, true, Duration::ZERO),
            (overflow.failures, false, Duration::ZERO),
            (overflow.slow_successes, true, slow),
            (overflow.slow_failures, false, slow),
        ];
        for (count, success, duration) in batches {
            for _ in 0..count {
                let rec = OutcomeRecord {
                    at: now,
                    duration_nanos: u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
                    success,
                    admission: Admission::Normal,
                    first_attempt: true,
                };
                if let Some(t) = feed(&mut breaker, now, rec) {
                    transitions.push(t);
                }
            }
        }
        if let Some(t) = breaker.poll(now) {
            transitions.push(t);
        }
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

    /// Runs one probe as a half-open trial, in a task of its own so the actor stays responsive.
    fn start_probe(&mut self, myself: &ActorRef<DependencyMsg>) {
        let shared = Arc::clone(&self.args.shared);
        if shared.gate.state() != State::HalfOpen {
            return;
        }
        let clock = shared.clock.clone();
        let Ok(admission) = shared.gate.admit() else {
            // Real traffic holds the trial permits: no probe needed.
            return;
        };
        let dependency = Arc::clone(&self.args.dependency);
        let timeout = shared.settings.load().timeout.attempt;
        let myself = myself.clone();
        tokio::spawn(async move {
            let start = clock.now();
            let ctx = CallContext::untracked().with_timeout(timeout);
            let probe = tokio::time::timeout(timeout, dependency.probe(&ctx)).await;
            let end = clock.now();
            let status = match probe {
                Ok(Probe::Unsupported) => {
                    shared.gate.return_trial();
                    return;
                }
                Ok(Probe::Healthy) => ProbeStatus {
                    healthy: true,
                    error: None,
                },
                Ok(Probe::Unhealthy(err)) => ProbeStatus {
                    healthy: false,
                    error: Some(err.to_string()),
                },
                Err(_) => ProbeStatus {
                    healthy: false,
                    error: Some("probe timed out".to_owned()),
                },
            };
            let rec = OutcomeRecord {
                at: end,
                duration_nanos: end.as_nanos().saturating_sub(start.as_nanos()),
                success: status.healthy,
                admission,
                first_attempt: false,
            };
            let _ = shared.outcomes.push(rec, false, true);
            let _ = myself.cast(DependencyMsg::ProbeDone(status));
        });
    }

    fn update_policy(&mut self, policy: Policy) -> Result<(), PolicyUpdateError> {
        let shared = &self.args.shared;
        let settings = Settings::new(&policy, Some(&shared.settings.load()))?;
        let now = shared.clock.now();
        shared.breaker().reconfigure(policy.breaker.clone(), now);
        shared
            .gate
            .set_slow_call(policy.breaker.slow_call_duration());
        shared.bulkhead.resize(&policy.bulkhead);
        shared.settings.store(Arc::new(settings));
        tracing::info!(dependency = %shared.name, "policy updated");
        shared.set_policy(policy);
        Ok(())
    }

    fn command(&mut self, command: BreakerCommand) -> State {
        let shared = &self.args.shared;
        let now = shared.clock.now();
        let mut breaker = shared.breaker();
        let transition = match command {
            BreakerCommand::ForceOpen => breaker.force_open(now),
            BreakerCommand::Disable => breaker.disable(now),
            BreakerCommand::MetricsOnly => breaker.metrics_only(now),
            BreakerCommand::Reset => breaker.reset(now),
        };
        if let Some(t) = &transition {
            shared.publish(&breaker, t);
        }
        breaker.state()
    }

    fn refresh_gauges(&self) {
        let shared = &self.args.shared;
        for priority in [
            crate::correlation::Priority::Critical,
            crate::correlation::Priority::NonCritical,
        ] {
            shared
                .metrics
                .in_flight(priority, shared.bulkhead.in_flight(priority));
        }
    }
}

/// Feeds one outcome to the breaker, skipping stale ones: a trial result counts only while
/// half-open, an ordinary result only while closed (or metrics-only).
fn feed(breaker: &mut CircuitBreaker, at: Moment, rec: OutcomeRecord) -> Option<Transition> {
    let outcome = CallOutcome {
        success: rec.success,
        duration: Duration::from_nanos(rec.duration_nanos),
    };
    match (rec.admission, breaker.state()) {
        (Admission::Trial, State::HalfOpen) => {
            // Handles took the permit from the published gate; mirror it in the state machine.
            let acquired = breaker.try_acquire(at).ok().flatten();
            breaker.record(at, outcome).or(acquired)
        }
        (Admission::Normal, State::Closed | State::MetricsOnly) => breaker.record(at, outcome),
        _ => None,
    }
}
