//! The supervisor actor: the ractor boundary of the crate.

use std::sync::Arc;
use std::time::Duration;

use ractor::concurrency::JoinHandle;
use ractor::{
    Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, SupervisionEvent,
};
use tokio::task::JoinSet;

use crate::decision::ExitReason;
use crate::error::SupervisorError;
use crate::handle::SupervisorRef;
use crate::metrics::describe_metrics;
use crate::snapshot::{ChildCounts, SupervisorSnapshot};
use crate::spec::{ChildId, ChildSpec, SupervisorSpec};
use crate::state::{AfterExit, SupervisorState};

/// Label of a root supervisor spawned without a name.
const DEFAULT_LABEL: &str = "supervisor";
/// Start of the stop reason of a supervisor that shut itself down (auto shutdown).
pub const AUTO_SHUTDOWN_REASON: &str = "auto_shutdown";

/// An OTP-style supervisor running as a ractor actor. Start one with [`Supervisor::spawn`],
/// [`Supervisor::spawn_linked`] or as a child ([`ChildSpec::supervisor`]); talk to it through
/// [`SupervisorRef`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Supervisor;

/// Spawn arguments of a [`Supervisor`]; opaque.
#[derive(Debug, Clone)]
pub struct SupervisorArguments {
    label: Arc<str>,
    spec: SupervisorSpec,
}

/// A message to a [`Supervisor`]; built by [`SupervisorRef`]'s methods.
#[derive(Debug)]
pub struct SupervisorMsg(Request);

/// Where the answer to a request that may be refused goes.
pub(crate) type Reply<T> = RpcReplyPort<Result<T, SupervisorError>>;

#[derive(Debug)]
enum Request {
    StartChild(ChildSpec, Reply<Option<ActorCell>>),
    TerminateChild(ChildId, Reply<()>),
    RestartChild(ChildId, Reply<Option<ActorCell>>),
    DeleteChild(ChildId, Reply<()>),
    RemoveChild(ChildId),
    ResetBackoff(ChildId, Reply<()>),
    Child(ChildId, RpcReplyPort<Option<ActorCell>>),
    Count(RpcReplyPort<ChildCounts>),
    Snapshot(Duration, RpcReplyPort<SupervisorSnapshot>),
    Restart(u64),
}

impl SupervisorMsg {
    pub(crate) fn restart(token: u64) -> Self {
        Self(Request::Restart(token))
    }
    pub(crate) fn start_child(spec: ChildSpec, reply: Reply<Option<ActorCell>>) -> Self {
        Self(Request::StartChild(spec, reply))
    }
    pub(crate) fn terminate_child(id: ChildId, reply: Reply<()>) -> Self {
        Self(Request::TerminateChild(id, reply))
    }
    pub(crate) fn restart_child(id: ChildId, reply: Reply<Option<ActorCell>>) -> Self {
        Self(Request::RestartChild(id, reply))
    }
    pub(crate) fn delete_child(id: ChildId, reply: Reply<()>) -> Self {
        Self(Request::DeleteChild(id, reply))
    }
    pub(crate) fn remove_child(id: ChildId) -> Self {
        Self(Request::RemoveChild(id))
    }
    pub(crate) fn reset_backoff(id: ChildId, reply: Reply<()>) -> Self {
        Self(Request::ResetBackoff(id, reply))
    }
    pub(crate) fn child(id: ChildId, reply: RpcReplyPort<Option<ActorCell>>) -> Self {
        Self(Request::Child(id, reply))
    }
    pub(crate) fn count(reply: RpcReplyPort<ChildCounts>) -> Self {
        Self(Request::Count(reply))
    }
    pub(crate) fn snapshot(budget: Duration, reply: RpcReplyPort<SupervisorSnapshot>) -> Self {
        Self(Request::Snapshot(budget, reply))
    }
}

impl Supervisor {
    /// Spawns a root supervisor and its children (in order). `name` registers the actor in
    /// ractor's process-global registry (so it must be unique) and labels logs and metrics.
    /// Fails if the spec is invalid or a child fails to start (those started are stopped again).
    pub async fn spawn(
        name: Option<String>,
        spec: SupervisorSpec,
    ) -> Result<(SupervisorRef, JoinHandle<()>), SupervisorError> {
        let label = label_of(name.as_deref());
        Self::spawn_inner(name, label, spec, None).await
    }

    /// Spawns a supervisor linked to any parent actor, which receives its failure (escalation) as
    /// `SupervisionEvent::ActorFailed` carrying a [`SupervisorError::IntensityExceeded`].
    pub async fn spawn_linked(
        name: Option<String>,
        spec: SupervisorSpec,
        parent: ActorCell,
    ) -> Result<(SupervisorRef, JoinHandle<()>), SupervisorError> {
        let label = label_of(name.as_deref());
        Self::spawn_inner(name, label, spec, Some(parent)).await
    }

    /// A nested supervisor: unnamed in the registry (restarts must not collide), labelled by id.
    pub(crate) async fn spawn_child(
        label: Arc<str>,
        spec: SupervisorSpec,
        parent: ActorCell,
    ) -> Result<(SupervisorRef, JoinHandle<()>), SpawnErr> {
        let args = SupervisorArguments { label, spec };
        let (actor, join) = Actor::spawn_linked(None, Supervisor, args, parent).await?;
        Ok((SupervisorRef::new(actor), join))
    }

    async fn spawn_inner(
        name: Option<String>,
        label: Arc<str>,
        spec: SupervisorSpec,
        parent: Option<ActorCell>,
    ) -> Result<(SupervisorRef, JoinHandle<()>), SupervisorError> {
        spec.validate()?;
        let args = SupervisorArguments { label, spec };
        let spawned = match parent {
            Some(parent) => Actor::spawn_linked(name, Supervisor, args, parent).await,
            None => Actor::spawn(name, Supervisor, args).await,
        };
        match spawned {
            Ok((actor, join)) => Ok((SupervisorRef::new(actor), join)),
            Err(SpawnErr::StartupFailed(err)) => match err.downcast::<SupervisorError>() {
                Ok(err) => Err(*err),
                Err(err) => Err(SupervisorError::Spawn(SpawnErr::StartupFailed(err))),
            },
            Err(err) => Err(SupervisorError::Spawn(err)),
        }
    }
}

fn label_of(name: Option<&str>) -> Arc<str> {
    Arc::from(name.unwrap_or(DEFAULT_LABEL))
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArguments;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        describe_metrics();
        args.spec.validate().map_err(SupervisorError::from)?;
        crate::metrics::register_supervisor(&args.label);
        let mut state = SupervisorState::new(args.label, &args.spec);
        let cell = myself.get_cell();
        for child in args.spec.children {
            if let Err(err) = state.add_child(&cell, child).await {
                tracing::error!(supervisor = %state.label(), error = %err, "child failed to start; supervisor does not start");
                state.shutdown_all().await;
                return Err(err.into());
            }
        }
        tracing::debug!(supervisor = %state.label(), actor = %myself.get_id(), "supervisor started");
        Ok(state)
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.shutdown_all().await;
        tracing::debug!(supervisor = %state.label(), actor = %myself.get_id(), "supervisor stopped");
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let cell = myself.get_cell();
        match msg.0 {
            Request::Restart(token) => {
                let after = state.restart(&cell, token).await?;
                auto_shutdown(&myself, after);
            }
            request => serve(state, &cell, request).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Some((cell, reason)) = ExitReason::from_event(event) else {
            return Ok(());
        };
        // Exits of incarnations we stopped ourselves (or already replaced) are not ours to handle.
        if let Some(id) = state.child_of(cell.get_id()) {
            let after = state.handle_exit(&myself.get_cell(), id, reason).await?;
            auto_shutdown(&myself, after);
        }
        Ok(())
    }
}

/// Answers an operator's or a caller's request.
async fn serve(state: &mut SupervisorState, cell: &ActorCell, request: Request) {
    match request {
        Request::StartChild(spec, reply) => {
            let _ = reply.send(state.add_child(cell, spec).await);
        }
        Request::TerminateChild(id, reply) => {
            let _ = reply.send(state.terminate_child(&id).await);
        }
        Request::RestartChild(id, reply) => {
            let _ = reply.send(state.restart_child(cell, &id).await);
        }
        Request::DeleteChild(id, reply) => {
            let _ = reply.send(state.delete_child(&id));
        }
        Request::RemoveChild(id) => {
            if let Err(err) = state.remove_child(&id).await {
                tracing::debug!(supervisor = %state.label(), error = %err, "remove_child_nowait");
            }
        }
        Request::ResetBackoff(id, reply) => {
            let _ = reply.send(state.reset_backoff(&id));
        }
        Request::Child(id, reply) => {
            let _ = reply.send(state.child(&id));
        }
        Request::Count(reply) => {
            let _ = reply.send(state.counts());
        }
        Request::Snapshot(budget, reply) => {
            let (snapshot, nested) = state.snapshot(cell);
            if nested.is_empty() {
                let _ = reply.send(snapshot);
            } else {
                // Ask nested supervisors off the run loop, each within a share of our budget.
                tokio::spawn(collect_nested(
                    snapshot,
                    nested,
                    budget.mul_f64(0.75),
                    reply,
                ));
            }
        }
        Request::Restart(_) => {} // handled by `handle`: it may stop the supervisor
    }
}

/// Stops the supervisor normally when auto shutdown says so; `post_stop` then stops the children
/// in reverse start order. The reason makes it a normal exit for the parent (OTP's `shutdown`).
fn auto_shutdown(myself: &ActorRef<SupervisorMsg>, after: AfterExit) {
    if let AfterExit::Shutdown { child } = after {
        myself.stop(Some(format!(
            "{AUTO_SHUTDOWN_REASON}: significant child `{child}` terminated"
        )));
    }
}

async fn collect_nested(
    mut snapshot: SupervisorSnapshot,
    nested: Vec<(usize, SupervisorRef)>,
    budget: Duration,
    reply: RpcReplyPort<SupervisorSnapshot>,
) {
    let mut asks = JoinSet::new();
    for (index, sup) in nested {
        asks.spawn(async move { (index, sup.with_call_timeout(budget).snapshot().await) });
    }
    while let Some(done) = asks.join_next().await {
        let Ok((index, result)) = done else { continue };
        let Some(child) = snapshot.children.get_mut(index) else {
            continue;
        };
        match result {
            Ok(nested) => child.supervisor = Some(Box::new(nested)),
            Err(err) => child.supervisor_error = Some(err.to_string()),
        }
    }
    let _ = reply.send(snapshot);
}
