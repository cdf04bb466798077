//! A supervisor's bookkeeping: its children, their order, their pending restarts.
//!
//! Per-child state lives in a `HashMap` keyed by id, start order in a `BTreeMap` of sequence
//! numbers and the running incarnations in a `HashMap` keyed by actor id, so an exit, a start or a
//! removal costs O(log n) whatever the number of children (only one_for_all / rest_for_one touch
//! the siblings they restart).
//!
//! What happens on an exit lives in [`exit`], what an operator asks for (terminate, restart,
//! delete, reset) in [`admin`], the picture for status pages in [`snapshot`].

mod admin;
mod exit;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ractor::concurrency::JoinHandle;
use ractor::{ActorCell, ActorId, MessagingErr};
use tokio::time::Instant;

use crate::auto_shutdown::AutoShutdown;
use crate::decision::ExitReason;
use crate::error::SupervisorError;
use crate::intensity::Intensity;
use crate::shutdown::shutdown_child;
use crate::snapshot::ChildCounts;
use crate::spec::{ChildId, ChildKind, ChildSpec, Restart, Started, SupervisorSpec};
use crate::strategy::Strategy;
use crate::supervisor::SupervisorMsg;

pub(crate) use exit::AfterExit;

type Timer = JoinHandle<Result<(), MessagingErr<SupervisorMsg>>>;

#[derive(Debug)]
enum Status {
    Running {
        cell: ActorCell,
        since: Instant,
    },
    /// Part of the pending restart `token`, due at `at`.
    Restarting {
        token: u64,
        at: Instant,
    },
    /// Held but not running: exited normally (transient), terminated, or its start ignored.
    Stopped,
}

#[derive(Debug)]
struct Child {
    spec: ChildSpec,
    seq: u64,
    status: Status,
    restarts: u64,
    attempt: u32,
    last_failure: Option<ExitReason>,
}

/// A restart scheduled after the exit of `trigger`: the children `ids` (in start order) whose
/// status still carries its token are started when it comes due.
#[derive(Debug)]
struct Pending {
    trigger: ChildId,
    ids: Vec<ChildId>,
    timer: Option<Timer>,
}

/// The state of a running [`Supervisor`](crate::Supervisor); opaque.
#[derive(Debug)]
pub struct SupervisorState {
    label: Arc<str>,
    strategy: Strategy,
    intensity: Intensity,
    auto_shutdown: AutoShutdown,
    children: HashMap<ChildId, Child>,
    order: BTreeMap<u64, ChildId>,
    by_actor: HashMap<ActorId, ChildId>,
    next_seq: u64,
    next_token: u64,
    pending: HashMap<u64, Pending>,
}

impl SupervisorState {
    pub(crate) fn new(label: Arc<str>, spec: &SupervisorSpec) -> Self {
        Self {
            label,
            strategy: spec.strategy,
            intensity: Intensity::new(spec.intensity, spec.period),
            auto_shutdown: spec.auto_shutdown,
            children: HashMap::with_capacity(spec.children.len()),
            order: BTreeMap::new(),
            by_actor: HashMap::with_capacity(spec.children.len()),
            next_seq: 0,
            next_token: 0,
            pending: HashMap::new(),
        }
    }

    pub(crate) fn label(&self) -> &Arc<str> {
        &self.label
    }

    /// The child a running actor belongs to, if it is a current incarnation.
    pub(crate) fn child_of(&self, actor: ActorId) -> Option<ChildId> {
        self.by_actor.get(&actor).cloned()
    }

    /// Adds and starts a child (OTP's `start_child`). A start that fails keeps nothing; a start
    /// that is ignored keeps the spec of a permanent or transient child, stopped (`Ok(None)`).
    pub(crate) async fn add_child(
        &mut self,
        myself: &ActorCell,
        spec: ChildSpec,
    ) -> Result<Option<ActorCell>, SupervisorError> {
        spec.check(self.auto_shutdown)?;
        if let Some(existing) = self.children.get(&spec.id) {
            return Err(match &existing.status {
                Status::Running { cell, .. } => SupervisorError::AlreadyStarted {
                    id: spec.id,
                    actor: cell.clone(),
                },
                _ => SupervisorError::AlreadyPresent(spec.id),
            });
        }
        let started =
            (spec.start)(myself.clone())
                .await
                .map_err(|e| SupervisorError::StartFailed {
                    id: Arc::clone(&spec.id),
                    source: Arc::new(e),
                })?;
        let id = Arc::clone(&spec.id);
        let (status, cell) = match started {
            Started::Running(cell) => {
                self.by_actor.insert(cell.get_id(), Arc::clone(&id));
                tracing::debug!(supervisor = %self.label, child = %id, actor = %cell.get_id(), "child started");
                let since = Instant::now();
                (
                    Status::Running {
                        cell: cell.clone(),
                        since,
                    },
                    Some(cell),
                )
            }
            Started::Ignore if spec.restart == Restart::Temporary => {
                tracing::info!(supervisor = %self.label, child = %id, "temporary child ignored its start; not kept");
                return Ok(None);
            }
            Started::Ignore => {
                tracing::info!(supervisor = %self.label, child = %id, "child ignored its start; kept, not running");
                (Status::Stopped, None)
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, Arc::clone(&id));
        let child = Child {
            spec,
            seq,
            status,
            restarts: 0,
            attempt: 0,
            last_failure: None,
        };
        self.children.insert(id, child);
        Ok(cell)
    }

    /// Forgets a child that is not running.
    fn forget(&mut self, id: &str) {
        if let Some(child) = self.children.remove(id) {
            self.order.remove(&child.seq);
        }
    }

    /// Cancels pending restarts and stops every running child in reverse start order, each within
    /// its shutdown timeout.
    pub(crate) async fn shutdown_all(&mut self) {
        for (_, pending) in self.pending.drain() {
            if let Some(timer) = pending.timer {
                timer.abort();
            }
        }
        let ids: Vec<ChildId> = self.order.values().rev().cloned().collect();
        for id in ids {
            self.stop_child(&id).await;
        }
    }

    /// Marks child `id` stopped, stopping its incarnation (within its shutdown) if it was
    /// running. Returns the pending restart it was waiting for, if any, for the caller to cancel.
    async fn stop_child(&mut self, id: &str) -> Option<u64> {
        let child = self.children.get_mut(id)?;
        match std::mem::replace(&mut child.status, Status::Stopped) {
            Status::Running { cell, .. } => {
                self.by_actor.remove(&cell.get_id());
                let how = shutdown_child(&cell, child.spec.shutdown).await;
                tracing::debug!(supervisor = %self.label, child = %id, %how, "child stopped by its supervisor");
                None
            }
            Status::Restarting { token, .. } => Some(token),
            Status::Stopped => None,
        }
    }

    /// The running incarnation of child `id`.
    pub(crate) fn child(&self, id: &str) -> Option<ActorCell> {
        match &self.children.get(id)?.status {
            Status::Running { cell, .. } => Some(cell.clone()),
            _ => None,
        }
    }

    pub(crate) fn counts(&self) -> ChildCounts {
        let mut counts = ChildCounts {
            specs: self.children.len(),
            ..ChildCounts::default()
        };
        for child in self.children.values() {
            match child.status {
                Status::Running { .. } => counts.active += 1,
                Status::Restarting { .. } => counts.restarting += 1,
                Status::Stopped => {}
            }
            match child.spec.kind {
                ChildKind::Worker => counts.workers += 1,
                ChildKind::Supervisor => counts.supervisors += 1,
            }
        }
        counts
    }
}
