//! [`DependencyHandle`]: what callers hold.

use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use tokio::sync::broadcast;

use crate::breaker::State;
use crate::fallback::{FallbackCause, FallbackChain, FallbackSource};
use crate::policy::Policy;

use super::actor::{BreakerCommand, DependencyMsg, PolicyUpdateError};
use super::context::CallContext;
use super::error::CallError;
use super::execute::{Attempt, execute};
use super::shared::{DependencySnapshot, Shared, TransitionEvent};
use super::traits::{Dependency, DependencyError};

/// How long a control request (policy update, breaker command) waits for the actor.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A cheap, cloneable handle to one guarded dependency.
///
/// Calls run in the caller's task: the handle admits them against the breaker state and the
/// bulkhead that the dependency's actor publishes, bounds each attempt by its deadline, retries
/// transient failures within the retry budget and reports every outcome to the actor without
/// waiting for it.
pub struct DependencyHandle<D: Dependency> {
    shared: Arc<Shared>,
    dependency: Arc<D>,
    fallback: Option<FallbackChain<D::Request, D::Response>>,
}

impl<D: Dependency> Clone for DependencyHandle<D> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            dependency: Arc::clone(&self.dependency),
            fallback: self.fallback.clone(),
        }
    }
}

impl<D: Dependency> std::fmt::Debug for DependencyHandle<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyHandle")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .finish()
    }
}

struct Direct<'a, D>(&'a D);

impl<D: Dependency> Attempt<D::Request> for Direct<'_, D> {
    type Response = D::Response;
    fn attempt(
        &mut self,
        req: D::Request,
        ctx: &CallContext,
    ) -> impl std::future::Future<Output = Result<D::Response, DependencyError>> {
        self.0.call(req, ctx)
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AnswerSource {
    /// The dependency itself.
    Primary,
    /// A fallback stage, after the primary path failed for `cause`.
    Fallback {
        /// Which stage answered.
        #[serde(serialize_with = "serialize_source")]
        source: FallbackSource,
        /// Why the primary path did not.
        cause: FallbackCause,
    },
}

fn serialize_source<S: serde::Serializer>(
    source: &FallbackSource,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(source)
}

/// A response and where it came from.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// The response.
    pub value: T,
    /// The dependency or a fallback stage.
    pub source: AnswerSource,
}

impl<T> Answer<T> {
    /// Whether a fallback produced this answer.
    pub fn degraded(&self) -> bool {
        matches!(self.source, AnswerSource::Fallback { .. })
    }

    /// The source label: `"primary"` or the fallback stage's name.
    pub fn source_label(&self) -> String {
        match &self.source {
            AnswerSource::Primary => "primary".to_owned(),
            AnswerSource::Fallback { source, .. } => source.to_string(),
        }
    }
}

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
    #[error(transparent)]
    InvalidPolicy(#[from] PolicyUpdateError),
}

impl<D: Dependency> DependencyHandle<D> {
    pub(crate) fn new(
        shared: Arc<Shared>,
        dependency: Arc<D>,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
    ) -> Self {
        Self {
            shared,
            dependency,
            fallback,
        }
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Calls the dependency through breaker, bulkhead, timeout and retry.
    pub async fn call(&self, req: D::Request, ctx: CallContext) -> Result<D::Response, CallError> {
        execute(&self.shared, ctx, req, &mut Direct(&*self.dependency)).await
    }

    /// Like [`call`](Self::call), then the fallback chain when the primary path fails for a cause
    /// the chain handles. A successful primary answer is remembered for the cache stage.
    pub async fn call_or_fallback(
        &self,
        req: D::Request,
        ctx: CallContext,
    ) -> Result<Answer<D::Response>, CallError>
    where
        D::Response: Clone + Sync,
        D::Request: Sync,
    {
        let Some(chain) = &self.fallback else {
            return self.call(req, ctx).await.map(|value| Answer {
                value,
                source: AnswerSource::Primary,
            });
        };
        // One copy serves both outcomes: remembered on success, recovered from on failure.
        let copy = req.clone();
        match self.call(req, ctx).await {
            Ok(value) => {
                chain.remember(&copy, &value);
                Ok(Answer {
                    value,
                    source: AnswerSource::Primary,
                })
            }
            Err(err) => {
                let cause = fallback_cause(&err);
                if !chain.triggers_on(cause) {
                    return Err(err);
                }
                match chain.recover(&copy, cause) {
                    Some(degraded) => {
                        self.shared.metrics.fallback(degraded.source.as_str());
                        tracing::info!(
                            dependency = %self.shared.name,
                            source = %degraded.source,
                            %cause,
                            "answered by fallback"
                        );
                        Ok(Answer {
                            value: degraded.value,
                            source: AnswerSource::Fallback {
                                source: degraded.source,
                                cause,
                            },
                        })
                    }
                    None => Err(err),
                }
            }
        }
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

    /// The wrapped dependency.
    pub fn dependency(&self) -> &Arc<D> {
        &self.dependency
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

fn fallback_cause(err: &CallError) -> FallbackCause {
    match err {
        CallError::CircuitOpen { .. } => FallbackCause::CircuitOpen,
        CallError::BulkheadFull { .. } => FallbackCause::BulkheadFull,
        CallError::Timeout { .. } => FallbackCause::Timeout,
        CallError::Failed { last, .. } if last.is_transient() => FallbackCause::RetriesExhausted,
        CallError::Failed { .. } => FallbackCause::Failed,
        CallError::Panicked { .. } => FallbackCause::Panicked,
    }
}
