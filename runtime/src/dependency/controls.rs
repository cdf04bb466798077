//! [`Controls`]: what every guarded thing (a dependency's handle, a closure guard) offers besides
//! calling: its state, snapshots, transitions, policy updates and breaker commands.

use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use tokio::sync::broadcast;

use crate::breaker::State;
use crate::policy::Policy;

use super::actor::{BreakerCommand, DependencyMsg, PolicyUpdateError};
use super::shared::{DependencySnapshot, Shared, TransitionEvent};

/// How long a control request (policy update, breaker command) waits for the actor.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A control request that did not reach the actor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No actor owns the dependency right now (it is restarting or stopped).
    #[error("dependency '{0}' has no running actor")]
    ActorUnavailable(Arc<str>),
    /// The actor did not answer in time.
    #[error("dependency '{0}' did not answer the control request in time")]
    TimedOut(Arc<str>),
    /// The new policy was refused.
    #[error("the new policy was refused")]
    InvalidPolicy(
        #[from]
        #[source]
        PolicyUpdateError,
    ),
}

/// The control surface of one guarded dependency. [`DependencyHandle`](super::DependencyHandle)
/// and [`Guard`](crate::guard::Guard) dereference to it.
#[derive(Clone)]
pub struct Controls {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controls")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .finish()
    }
}

impl Controls {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The breaker state callers currently see.
    pub fn state(&self) -> State {
        self.shared.gate.state()
    }

    /// Waits until the breaker reaches `state` (observers and tests).
    pub async fn wait_for_state(&self, state: State) {
        let mut rx = self.shared.state_tx.subscribe();
        let _ = rx.wait_for(|s| *s == state).await;
    }

    /// Breaker transitions as they happen (bounded: a slow receiver loses the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.shared.transitions.subscribe()
    }

    /// The dependency's status for `/status`.
    pub fn snapshot(&self) -> DependencySnapshot {
        self.shared.snapshot()
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.shared.policy()
    }

    /// Replaces the policy while running; the breaker keeps its state.
    pub async fn update_policy(&self, policy: Policy) -> Result<(), ControlError> {
        self.control(|port| DependencyMsg::UpdatePolicy(Box::new(policy), port))
            .await?
            .map_err(ControlError::from)
    }

    /// Changes the breaker by hand and returns its new state.
    pub async fn command(&self, command: BreakerCommand) -> Result<State, ControlError> {
        self.control(|port| DependencyMsg::Command(command, port))
            .await
    }

    /// Waits until the actor has applied every outcome recorded so far, and returns the breaker
    /// state that results (a barrier for tests, shutdown and operators).
    pub async fn flush(&self) -> Result<State, ControlError> {
        self.control(DependencyMsg::Flush).await
    }

    /// Chaos: makes the owning actor panic in its message handler. Calls keep being answered; the
    /// supervisor restarts the actor, which keeps the breaker state.
    pub fn inject_actor_panic(&self) -> Result<(), ControlError> {
        let actor = self.shared.actor.load_full();
        actor
            .and_then(|a| a.cast(DependencyMsg::InjectPanic).ok())
            .ok_or_else(|| ControlError::ActorUnavailable(Arc::clone(&self.shared.name)))
    }

    /// Checks the breaker's invariants and the published gate's agreement with it (an error is
    /// a bug in Bulwark). Meant for tests and operators' diagnostics.
    pub fn check_invariants(&self) -> Result<(), crate::breaker::InvariantViolation> {
        self.shared.check_invariants()
    }

    /// How often the owning actor has been restarted.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts()
    }

    /// Waits until the owning actor has been restarted at least `n` times and the new incarnation
    /// has started (messages sent afterwards reach it).
    pub async fn wait_for_restarts(&self, n: u64) {
        let mut rx = self.shared.started.subscribe();
        let _ = rx.wait_for(|started| *started > n).await;
    }

    async fn control<R: Send + 'static>(
        &self,
        build: impl FnOnce(ractor::RpcReplyPort<R>) -> DependencyMsg,
    ) -> Result<R, ControlError> {
        let name = || Arc::clone(&self.shared.name);
        let actor = self
            .shared
            .actor
            .load_full()
            .ok_or_else(|| ControlError::ActorUnavailable(name()))?;
        match actor.call(build, Some(CONTROL_TIMEOUT)).await {
            Ok(CallResult::Success(value)) => Ok(value),
            Ok(CallResult::Timeout) => Err(ControlError::TimedOut(name())),
            Ok(CallResult::SenderError) | Err(_) => Err(ControlError::ActorUnavailable(name())),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}
