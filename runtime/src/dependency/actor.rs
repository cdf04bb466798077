//! The actor that owns one dependency: the single writer of its breaker state.
//!
//! Callers never wait on this actor. It wakes up to drain call outcomes (pushed by callers into a
//! bounded ring) and feed them to the breaker (`drain.rs`); it runs the breaker's timer (Open →
//! HalfOpen, and the half-open wait), probes a half-open dependency when no traffic arrives
//! (`probe.rs`), applies policy updates and breaker commands. Its state lives in [`Shared`],
//! outside the actor, so the supervisor can restart it after a crash without forgetting that the
//! dependency is down.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;

use crate::breaker::State;
use crate::clock::Moment;
use crate::policy::Policy;

use super::shared::{ProbeStatus, Settings, Shared, lock};
use super::traits::Dependency;

/// How often the actor drains outcomes and refreshes gauges when nothing wakes it.
pub(crate) const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// A command that changes the breaker by hand (operators, tests, chaos).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerCommand {
    /// Open as if tripped: refused for the reset timeout, then half-open as usual.
    Open,
    /// Start a half-open round now.
    HalfOpen,
    /// Close: an empty window, no backoff.
    Close,
    /// Reject every call until reset.
    ForceOpen,
    /// Admit every call, never trip.
    Disable,
    /// Admit every call, keep computing rates, never trip.
    MetricsOnly,
    /// Back to Closed with an empty window, from any state.
    Reset,
}

/// A policy update that was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyUpdateError {
    /// The retry budget settings are invalid.
    #[error("invalid retry settings")]
    Retry(
        #[from]
        #[source]
        crate::retry::InvalidRetryConfig,
    ),
    /// The probe settings are invalid.
    #[error("invalid probe settings")]
    Probe(
        #[from]
        #[source]
        crate::policy::InvalidProbePolicy,
    ),
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
    pub(super) args: ActorArgs<D>,
    housekeeping: JoinHandle<()>,
    pub(super) timer_at: Option<Moment>,
    pub(super) last_fed: Moment,
    pub(super) probe_scheduled: bool,
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
    fn update_policy(&mut self, policy: Policy) -> Result<(), PolicyUpdateError> {
        let shared = &self.args.shared;
        policy.probe.validate()?;
        let settings = Settings::new(&policy, Some(&shared.settings.load()))?;
        let now = shared.clock.now();
        shared.breaker().reconfigure(policy.breaker.clone(), now);
        shared
            .gate
            .set_slow_call(policy.breaker.slow_call_duration());
        shared.bulkhead.resize(&policy.bulkhead);
        shared.limits.store(&settings);
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
            BreakerCommand::Open => breaker.transition_to_open(now),
            BreakerCommand::HalfOpen => breaker.transition_to_half_open(now),
            BreakerCommand::Close => breaker.transition_to_closed(now),
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
            crate::bulkhead::Priority::Critical,
            crate::bulkhead::Priority::NonCritical,
        ] {
            shared
                .metrics
                .in_flight(priority, shared.bulkhead.in_flight(priority));
            shared
                .metrics
                .limit(priority, shared.bulkhead.limits(priority).max_concurrent);
        }
    }
}
