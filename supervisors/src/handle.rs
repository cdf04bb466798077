//! [`SupervisorRef`]: the cheap, cloneable handle through which a supervisor is used.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorCell, ActorRef, MessagingErr};

use crate::error::SupervisorError;
use crate::snapshot::{ChildCounts, SupervisorSnapshot};
use crate::spec::{ChildId, ChildSpec};
use crate::supervisor::{Reply, SupervisorMsg};

/// How long a [`SupervisorRef`] waits for an answer unless told otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to a running supervisor.
#[derive(Debug, Clone)]
pub struct SupervisorRef {
    actor: ActorRef<SupervisorMsg>,
    timeout: Duration,
}

impl SupervisorRef {
    pub(crate) fn new(actor: ActorRef<SupervisorMsg>) -> Self {
        Self {
            actor,
            timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// The handle of a supervisor known only by its cell (e.g. a nested supervisor returned by
    /// [`SupervisorRef::child`]); `None` if the actor is not a supervisor.
    pub fn from_cell(cell: ActorCell) -> Option<Self> {
        (cell.is_message_type_of::<SupervisorMsg>() == Some(true))
            .then(|| Self::new(ActorRef::from(cell)))
    }

    /// The same handle waiting `timeout` for answers (a snapshot gives nested supervisors ¾ of it).
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The supervisor's cell (to link further actors to it, or to stop it).
    pub fn cell(&self) -> ActorCell {
        self.actor.get_cell()
    }

    /// The supervisor's typed actor reference.
    pub fn actor(&self) -> &ActorRef<SupervisorMsg> {
        &self.actor
    }

    /// Adds a child at run time and starts it (OTP's `start_child`); the child follows the same
    /// strategy, intensity and backoff as the others and stops first (it started last).
    /// `Ok(None)` when its start returned [`Started::Ignore`](crate::Started::Ignore): a permanent
    /// or transient child is then kept, not running. Nothing is kept if the start fails. An id
    /// already held answers [`SupervisorError::AlreadyStarted`] (running) or
    /// [`SupervisorError::AlreadyPresent`] (not running).
    pub async fn start_child(&self, spec: ChildSpec) -> Result<Option<ActorCell>, SupervisorError> {
        self.call(|reply| SupervisorMsg::start_child(spec, reply))
            .await?
    }

    /// Stops a child (within its shutdown timeout, then killed) and cancels its part of a pending
    /// restart (OTP's `terminate_child`). A permanent or transient child keeps its place, stopped:
    /// [`SupervisorRef::restart_child`] starts it again, [`SupervisorRef::delete_child`] forgets
    /// it. A temporary child is forgotten. Terminating a child never restarts it, and never
    /// triggers an auto shutdown.
    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.ask(id, SupervisorMsg::terminate_child).await
    }

    /// Starts a stopped child again (OTP's `restart_child`): one that was terminated, exited
    /// normally (transient) or ignored its start. Refused with [`SupervisorError::ChildRunning`]
    /// or [`SupervisorError::ChildRestarting`] otherwise. `Ok(None)` when its start ignored. Not
    /// counted by the restart intensity nor in the child's `restarts`.
    pub async fn restart_child(&self, id: &str) -> Result<Option<ActorCell>, SupervisorError> {
        self.ask(id, SupervisorMsg::restart_child).await
    }

    /// Forgets a stopped child (OTP's `delete_child`); refused while it runs or waits for a
    /// restart.
    pub async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.ask(id, SupervisorMsg::delete_child).await
    }

    /// Asks the supervisor to terminate child `id` and forget it, whatever its restart type,
    /// without waiting (for synchronous callers such as cache eviction listeners). Fails only if
    /// the supervisor is not running; an unknown id is ignored.
    pub fn remove_child_nowait(&self, id: &str) -> Result<(), SupervisorError> {
        self.actor
            .cast(SupervisorMsg::remove_child(ChildId::from(id)))
            .map_err(|_| SupervisorError::Unavailable)
    }

    /// Resets child `id`'s restart backoff, so its next restart waits the minimum delay (Akka's
    /// `BackoffSupervisor.Reset`); a restart already scheduled keeps its time. Useful when the
    /// caller knows the cause of the crashes is gone (a dependency came back).
    pub async fn reset_backoff(&self, id: &str) -> Result<(), SupervisorError> {
        self.ask(id, SupervisorMsg::reset_backoff).await
    }

    /// The running incarnation of child `id`; `None` if unknown or not running (restarting).
    pub async fn child(&self, id: &str) -> Result<Option<ActorCell>, SupervisorError> {
        let id = ChildId::from(id);
        self.call(|reply| SupervisorMsg::child(id, reply)).await
    }

    /// The running incarnation of nested supervisor `id` (resolve it again after a restart of
    /// that supervisor: the old handle then answers [`SupervisorError::Unavailable`]).
    pub async fn child_supervisor(
        &self,
        id: &str,
    ) -> Result<Option<SupervisorRef>, SupervisorError> {
        Ok(self.child(id).await?.and_then(SupervisorRef::from_cell))
    }

    /// How many children the supervisor has, by state and kind.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        self.call(SupervisorMsg::count).await
    }

    /// The live tree under this supervisor. Nested supervisors are asked concurrently, each
    /// bounded by ¾ of this handle's call timeout; one that does not answer is reported in its
    /// child's `supervisor_error` instead of delaying the whole snapshot.
    pub async fn snapshot(&self) -> Result<SupervisorSnapshot, SupervisorError> {
        let budget = self.timeout.mul_f64(0.75);
        self.call(|reply| SupervisorMsg::snapshot(budget, reply))
            .await
    }

    /// Stops the supervisor: children stop in reverse start order, each within its shutdown
    /// timeout; returns when the supervisor has exited.
    pub async fn stop(&self) {
        let _ = self.actor.stop_and_wait(None, None).await;
    }

    /// A call about child `id` whose answer may be a refusal.
    async fn ask<T: Send + 'static>(
        &self,
        id: &str,
        build: fn(ChildId, Reply<T>) -> SupervisorMsg,
    ) -> Result<T, SupervisorError> {
        let id = ChildId::from(id);
        self.call(|reply| build(id, reply)).await?
    }

    async fn call<T, F>(&self, build: F) -> Result<T, SupervisorError>
    where
        T: Send + 'static,
        F: FnOnce(ractor::RpcReplyPort<T>) -> SupervisorMsg,
    {
        match self.actor.call(build, Some(self.timeout)).await {
            Ok(CallResult::Success(value)) => Ok(value),
            Ok(CallResult::Timeout) => Err(SupervisorError::Timeout(self.timeout)),
            Ok(CallResult::SenderError)
            | Err(
                MessagingErr::SendErr(_)
                | MessagingErr::ChannelClosed
                | MessagingErr::InvalidActorType,
            ) => Err(SupervisorError::Unavailable),
        }
    }
}
