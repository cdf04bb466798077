//! Test workers that report their lifecycle through a channel, so tests wait on events.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_supervisors::{
    ChildSpec, ChildStatus, ExitReason, Started, Supervisor, SupervisorError, SupervisorRef,
    SupervisorSpec,
};
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::mpsc;

/// What a test worker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pre_start` succeeded.
    Started(String, ActorId),
    /// `post_stop` ran (graceful stop only).
    Stopped(String),
}

/// Commands a test worker obeys.
#[derive(Debug)]
pub enum Cmd {
    /// Panic in the handler.
    Panic,
    /// Return an error from the handler.
    Fail,
    /// Stop normally (no reason).
    Stop,
    /// Stop with this reason (`myself.stop(Some(..))`).
    StopWith(&'static str),
    /// Never return from the handler (cannot be stopped gracefully).
    Hang,
}

/// A test worker.
#[derive(Debug, Clone, Copy)]
pub struct Worker;

/// Its arguments: cloned on every restart.
#[derive(Debug, Clone)]
pub struct Args {
    pub id: String,
    pub events: mpsc::UnboundedSender<Event>,
    /// While > 0, `pre_start` fails (and decrements it).
    pub fail_starts: Arc<AtomicU32>,
}

impl Actor for Worker {
    type Msg = Cmd;
    type State = Args;
    type Arguments = Args;

    async fn pre_start(
        &self,
        myself: ActorRef<Cmd>,
        args: Args,
    ) -> Result<Args, ActorProcessingErr> {
        if args
            .fail_starts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(format!("{} refuses to start", args.id).into());
        }
        let _ = args
            .events
            .send(Event::Started(args.id.clone(), myself.get_id()));
        Ok(args)
    }

    async fn post_stop(
        &self,
        _: ActorRef<Cmd>,
        state: &mut Args,
    ) -> Result<(), ActorProcessingErr> {
        let _ = state.events.send(Event::Stopped(state.id.clone()));
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Cmd>,
        msg: Cmd,
        state: &mut Args,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Cmd::Panic => panic!("{} panicked on purpose", state.id),
            Cmd::Fail => Err(format!("{} failed on purpose", state.id).into()),
            Cmd::Stop => {
                myself.stop(None);
                Ok(())
            }
            Cmd::StopWith(reason) => {
                myself.stop(Some(reason.to_owned()));
                Ok(())
            }
            Cmd::Hang => std::future::pending().await,
        }
    }
}

/// Channel pair for events.
pub fn events() -> (mpsc::UnboundedSender<Event>, mpsc::UnboundedReceiver<Event>) {
    mpsc::unbounded_channel()
}

/// A permanent test worker child.
pub fn worker(id: &str, events: &mpsc::UnboundedSender<Event>) -> ChildSpec {
    failing_worker(id, events, Arc::new(AtomicU32::new(0)))
}

/// A test worker child whose next `fail_starts` starts fail.
pub fn failing_worker(
    id: &str,
    events: &mpsc::UnboundedSender<Event>,
    fail_starts: Arc<AtomicU32>,
) -> ChildSpec {
    ChildSpec::worker(
        id,
        Worker,
        Args {
            id: id.to_owned(),
            events: events.clone(),
            fail_starts,
        },
    )
}

/// A test worker child whose start returns [`Started::Ignore`] while `ignore` is > 0 (and
/// decrements it).
pub fn ignoring_worker(
    id: &str,
    events: &mpsc::UnboundedSender<Event>,
    ignore: Arc<AtomicU32>,
) -> ChildSpec {
    let args = Args {
        id: id.to_owned(),
        events: events.clone(),
        fail_starts: Arc::new(AtomicU32::new(0)),
    };
    ChildSpec::new(id, move |sup: ActorCell| {
        let args = args.clone();
        let ignore = Arc::clone(&ignore);
        async move {
            if ignore
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Ok(Started::Ignore);
            }
            let (actor, _) = Actor::spawn_linked(None, Worker, args, sup).await?;
            Ok(Started::Running(actor.get_cell()))
        }
    })
}

/// Awaits `f`, failing the test instead of hanging if it takes longer than 30 s (at once on
/// paused time, where an idle runtime jumps the clock ahead).
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("timed out")
}

/// The next exit a [`ExitForwarder`] reported (bounded wait).
pub async fn next_exit(exits: &mut mpsc::UnboundedReceiver<ExitReason>) -> ExitReason {
    within(exits.recv()).await.expect("exit channel closed")
}

/// The next event (bounded wait so a broken test fails instead of hanging).
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event channel closed")
}

/// The next `Started` event's child id, skipping nothing: asserts it is a start.
pub async fn next_start(rx: &mut mpsc::UnboundedReceiver<Event>) -> String {
    match next(rx).await {
        Event::Started(id, _) => id,
        other => panic!("expected a start, got {other:?}"),
    }
}

/// Collects `n` events.
pub async fn take(rx: &mut mpsc::UnboundedReceiver<Event>, n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next(rx).await);
    }
    out
}

/// Started(id) shorthand ignoring the actor id.
pub fn started_ids(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Started(id, _) => format!("+{id}"),
            Event::Stopped(id) => format!("-{id}"),
        })
        .collect()
}

/// Sends a command to the running child `id`.
pub async fn send(sup: &SupervisorRef, id: &str, cmd: Cmd) -> ActorCell {
    let cell = sup.child(id).await.unwrap().expect("child is running");
    cell.send_message(cmd).unwrap();
    cell
}

/// One field per child from a snapshot, by id, in start order.
pub async fn per_child<T>(
    sup: &SupervisorRef,
    field: impl Fn(&bulwark_supervisors::ChildSnapshot) -> T,
) -> Vec<(String, T)> {
    let snap = sup.snapshot().await.unwrap();
    snap.children
        .iter()
        .map(|c| (c.id.clone(), field(c)))
        .collect()
}

/// Status per child from a snapshot, in start order.
pub async fn statuses(sup: &SupervisorRef) -> Vec<(String, ChildStatus)> {
    per_child(sup, |c| c.status).await
}

/// `(id, status)` rows for comparing with [`statuses`].
pub fn rows(v: &[(&str, ChildStatus)]) -> Vec<(String, ChildStatus)> {
    v.iter().map(|(id, s)| ((*id).to_owned(), *s)).collect()
}

/// Restarts per child from a snapshot, in start order.
pub async fn restarts(sup: &SupervisorRef) -> Vec<(String, u64)> {
    per_child(sup, |c| c.restarts).await
}

/// A plain ractor actor that forwards the exits of its children (typed) to the test.
pub struct ExitForwarder;

impl Actor for ExitForwarder {
    type Msg = ();
    type State = mpsc::UnboundedSender<ExitReason>;
    type Arguments = mpsc::UnboundedSender<ExitReason>;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle_supervisor_evt(
        &self,
        _: ActorRef<()>,
        event: SupervisionEvent,
        tx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let Some((_, reason)) = ExitReason::from_event(event) {
            let _ = tx.send(reason);
        }
        Ok(())
    }
}

/// A supervisor running `spec` under an [`ExitForwarder`] parent.
pub struct Linked {
    /// The supervisor.
    pub sup: SupervisorRef,
    /// Resolves when the supervisor has exited.
    pub join: JoinHandle<()>,
    /// The exits its parent sees.
    pub exits: mpsc::UnboundedReceiver<ExitReason>,
    /// The parent (stop it at the end).
    pub parent: ActorRef<()>,
}

/// Spawns `spec` linked to a fresh [`ExitForwarder`].
pub async fn spawn_linked(spec: SupervisorSpec) -> Linked {
    let (tx, exits) = mpsc::unbounded_channel();
    let (parent, _) = Actor::spawn(None, ExitForwarder, tx).await.unwrap();
    let (sup, join) = Supervisor::spawn_linked(None, spec, parent.get_cell())
        .await
        .unwrap();
    Linked {
        sup,
        join,
        exits,
        parent,
    }
}

/// The typed supervisor error a failed supervisor reported to its parent.
pub fn supervisor_error(reason: &ExitReason) -> &SupervisorError {
    let ExitReason::Failed(err) = reason else {
        panic!("expected a failure, got {reason:?}")
    };
    err.downcast_ref::<SupervisorError>()
        .expect("typed supervisor error")
}
