//! A supervisor's bookkeeping: its children, their order, and what happens when one exits.
//!
//! Per-child state lives in a `HashMap` keyed by id, start order in a `BTreeMap` of sequence
//! numbers and the running incarnations in a `HashMap` keyed by actor id, so an exit, a start or a
//! removal costs O(log n) whatever the number of children (only one_for_all / rest_for_one touch
//! the siblings they restart).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ractor::concurrency::JoinHandle;
use ractor::{ActorCell, ActorId, MessagingErr};
use tokio::time::Instant;

use crate::decision::{Decision, ExitReason, decide};
use crate::error::SupervisorError;
use crate::handle::SupervisorRef;
use crate::intensity::Intensity;
use crate::metrics;
use crate::snapshot::{ChildCounts, ChildSnapshot, ChildStatus, SupervisorSnapshot};
use crate::spec::{ChildId, ChildKind, ChildSpec, Shutdown, SupervisorSpec};
use crate::strategy::Strategy;
use crate::supervisor::SupervisorMsg;

/// Reason given to children stopped by their supervisor.
const SHUTDOWN_REASON: &str = "supervisor shutdown";

type Timer = JoinHandle<Result<(), MessagingErr<SupervisorMsg>>>;

#[derive(Debug)]
enum Status {
    Running { cell: ActorCell, since: Instant },
    Restarting { token: u64, at: Instant },
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

/// The state of a running [`Supervisor`](crate::Supervisor); opaque.
#[derive(Debug)]
pub struct SupervisorState {
    label: Arc<str>,
    strategy: Strategy,
    intensity: Intensity,
    children: HashMap<ChildId, Child>,
    order: BTreeMap<u64, ChildId>,
    by_actor: HashMap<ActorId, ChildId>,
    next_seq: u64,
    next_token: u64,
    timers: HashMap<u64, Timer>,
}

impl SupervisorState {
    pub(crate) fn new(label: Arc<str>, spec: &SupervisorSpec) -> Self {
        Self {
            label,
            strategy: spec.strategy,
            intensity: Intensity::new(spec.intensity, spec.period),
            children: HashMap::with_capacity(spec.children.len()),
            order: BTreeMap::new(),
            by_actor: HashMap::with_capacity(spec.children.len()),
            next_seq: 0,
            next_token: 0,
            timers: HashMap::new(),
        }
    }

    pub(crate) fn label(&self) -> &Arc<str> {
        &self.label
    }

    /// The child a running actor belongs to, if it is a current incarnation.
    pub(crate) fn child_of(&self, actor: ActorId) -> Option<ChildId> {
        self.by_actor.get(&actor).cloned()
    }

    /// Adds and starts a child; on failure nothing is kept.
    pub(crate) async fn add_child(
        &mut self,
        myself: &ActorCell,
        spec: ChildSpec,
    ) -> Result<ActorCell, SupervisorError> {
        if self.children.contains_key(&spec.id) {
            return Err(SupervisorError::DuplicateChild(spec.id));
        }
        let cell =
            (spec.start)(myself.clone())
                .await
                .map_err(|e| SupervisorError::StartFailed {
                    id: Arc::clone(&spec.id),
                    source: Arc::new(e),
                })?;
        let id = Arc::clone(&spec.id);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, Arc::clone(&id));
        self.by_actor.insert(cell.get_id(), Arc::clone(&id));
        tracing::debug!(supervisor = %self.label, child = %id, actor = %cell.get_id(), "child started");
        self.children.insert(
            id,
            Child {
                spec,
                seq,
                status: Status::Running {
                    cell: cell.clone(),
                    since: Instant::now(),
                },
                restarts: 0,
                attempt: 0,
                last_failure: None,
            },
        );
        Ok(cell)
    }

    /// Stops and forgets a child (no restart).
    pub(crate) async fn remove_child(&mut self, id: &str) -> Result<(), SupervisorError> {
        let Some(child) = self.children.remove(id) else {
            return Err(SupervisorError::NoSuchChild(ChildId::from(id)));
        };
        self.order.remove(&child.seq);
        if let Status::Running { cell, .. } = child.status {
            self.by_actor.remove(&cell.get_id());
            shutdown_child(&cell, child.spec.shutdown).await;
        }
        tracing::debug!(supervisor = %self.label, child = %id, "child terminated and removed");
        Ok(())
    }

    /// Applies the restart type, intensity and strategy to the exit of child `id`.
    pub(crate) async fn handle_exit(
        &mut self,
        myself: &ActorCell,
        id: ChildId,
        reason: ExitReason,
    ) -> Result<(), SupervisorError> {
        let now = Instant::now();
        let Some(child) = self.children.get_mut(&id) else {
            return Ok(());
        };
        if let Status::Running { cell, since } = &child.status {
            self.by_actor.remove(&cell.get_id());
            if now.saturating_duration_since(*since) >= child.spec.backoff.reset_after() {
                child.attempt = 0;
            }
        }
        child.status = Status::Stopped;
        match decide(child.spec.restart, &reason) {
            Decision::Remove => {
                tracing::info!(supervisor = %self.label, child = %id, %reason, "temporary child exited; removed");
                let seq = child.seq;
                self.children.remove(&id);
                self.order.remove(&seq);
                return Ok(());
            }
            Decision::Keep => {
                tracing::info!(supervisor = %self.label, child = %id, %reason, "transient child exited normally; not restarted");
                return Ok(());
            }
            Decision::Restart => {}
        }
        child.last_failure = Some(reason.clone());
        let failed_seq = child.seq;
        if !self.intensity.record(now) {
            return Err(self.escalate(id, reason).await);
        }

        let affected = self.strategy.affected(&self.order, failed_seq);
        let mut restart = Vec::with_capacity(affected.len());
        for sibling in affected.iter().rev() {
            if *sibling == id {
                restart.push(Arc::clone(sibling));
                continue;
            }
            let Some(child) = self.children.get_mut(sibling) else {
                continue;
            };
            let was = std::mem::replace(&mut child.status, Status::Stopped);
            match was {
                Status::Running { cell, .. } => {
                    self.by_actor.remove(&cell.get_id());
                    shutdown_child(&cell, child.spec.shutdown).await;
                }
                Status::Restarting { .. } => {}
                Status::Stopped => continue,
            }
            if child.spec.restart == crate::spec::Restart::Temporary {
                let seq = child.seq;
                self.children.remove(sibling);
                self.order.remove(&seq);
            } else {
                restart.push(Arc::clone(sibling));
            }
        }
        restart.reverse();

        let Some(child) = self.children.get_mut(&id) else {
            return Ok(());
        };
        let delay = child.spec.backoff.next_delay(child.attempt);
        child.attempt = child.attempt.saturating_add(1);
        let token = self.next_token;
        self.next_token += 1;
        let at = now + delay;
        for rid in &restart {
            if let Some(c) = self.children.get_mut(rid) {
                c.status = Status::Restarting { token, at };
            }
        }
        tracing::warn!(
            supervisor = %self.label,
            child = %id,
            %reason,
            strategy = ?self.strategy,
            affected = restart.len(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "child exited abnormally or is permanent; restart scheduled"
        );
        let msg = SupervisorMsg::restart(token, restart);
        if delay.is_zero() {
            // Through the mailbox, never a loop in place: a stop or a query can get in between.
            let _ = myself.send_message(msg);
        } else {
            let timer = ractor::time::send_after(delay, myself.clone(), move || msg);
            self.timers.insert(token, timer);
        }
        Ok(())
    }

    /// Starts the children of a scheduled restart, in start order. A failed start is handled as a
    /// failure of that child (which reschedules it and the siblings its strategy affects).
    pub(crate) async fn restart(
        &mut self,
        myself: &ActorCell,
        token: u64,
        ids: Vec<ChildId>,
    ) -> Result<(), SupervisorError> {
        self.timers.remove(&token);
        for id in ids {
            let Some(child) = self.children.get_mut(&id) else {
                continue;
            };
            if !matches!(child.status, Status::Restarting { token: t, .. } if t == token) {
                continue;
            }
            match (child.spec.start)(myself.clone()).await {
                Ok(cell) => {
                    child.restarts += 1;
                    tracing::info!(supervisor = %self.label, child = %id, actor = %cell.get_id(), restarts = child.restarts, "child restarted");
                    metrics::restart(&id);
                    self.by_actor.insert(cell.get_id(), Arc::clone(&id));
                    child.status = Status::Running {
                        cell,
                        since: Instant::now(),
                    };
                }
                Err(e) => {
                    child.status = Status::Stopped;
                    let reason = ExitReason::StartFailed(Arc::new(e));
                    tracing::warn!(supervisor = %self.label, child = %id, %reason, "restart failed");
                    return self.handle_exit(myself, id, reason).await;
                }
            }
        }
        Ok(())
    }

    async fn escalate(&mut self, child: ChildId, reason: ExitReason) -> SupervisorError {
        tracing::error!(
            supervisor = %self.label,
            child = %child,
            %reason,
            intensity = self.intensity.max_restarts(),
            period_ms = u64::try_from(self.intensity.period().as_millis()).unwrap_or(u64::MAX),
            "restart intensity exceeded; stopping all children and escalating to the parent"
        );
        metrics::escalation(&self.label);
        self.shutdown_all().await;
        SupervisorError::IntensityExceeded {
            supervisor: Arc::clone(&self.label),
            child,
            max_restarts: self.intensity.max_restarts(),
            period: self.intensity.period(),
            reason,
        }
    }

    /// Cancels pending restarts and stops every running child in reverse start order, each within
    /// its shutdown timeout.
    pub(crate) async fn shutdown_all(&mut self) {
        for (_, timer) in self.timers.drain() {
            timer.abort();
        }
        let ids: Vec<ChildId> = self.order.values().rev().cloned().collect();
        for id in ids {
            let Some(child) = self.children.get_mut(&id) else {
                continue;
            };
            if let Status::Running { cell, .. } =
                std::mem::replace(&mut child.status, Status::Stopped)
            {
                self.by_actor.remove(&cell.get_id());
                shutdown_child(&cell, child.spec.shutdown).await;
            }
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

    /// This supervisor's snapshot, plus the running nested supervisors to ask (by child index).
    pub(crate) fn snapshot(
        &mut self,
        myself: &ActorCell,
    ) -> (SupervisorSnapshot, Vec<(usize, SupervisorRef)>) {
        let now = Instant::now();
        let mut nested = Vec::new();
        let mut children = Vec::with_capacity(self.children.len());
        for id in self.order.values() {
            let Some(child) = self.children.get(id) else {
                continue;
            };
            let (actor_id, status) = match &child.status {
                Status::Running { cell, .. } => {
                    if child.spec.kind == ChildKind::Supervisor
                        && let Some(sup) = SupervisorRef::from_cell(cell.clone())
                    {
                        nested.push((children.len(), sup));
                    }
                    (Some(cell.get_id().to_string()), ChildStatus::Running)
                }
                Status::Restarting { at, .. } => (
                    None,
                    ChildStatus::Restarting {
                        in_ms: millis(at.saturating_duration_since(now)),
                    },
                ),
                Status::Stopped => (None, ChildStatus::Stopped),
            };
            children.push(ChildSnapshot {
                id: id.to_string(),
                kind: child.spec.kind,
                restart: child.spec.restart,
                actor_id,
                status,
                restarts: child.restarts,
                last_failure: child.last_failure.as_ref().map(ToString::to_string),
                supervisor: None,
                supervisor_error: None,
            });
        }
        let snapshot = SupervisorSnapshot {
            name: self.label.to_string(),
            actor_id: myself.get_id().to_string(),
            strategy: self.strategy,
            intensity: self.intensity.max_restarts(),
            period_ms: millis(self.intensity.period()),
            restarts_in_period: self.intensity.count(now),
            children,
        };
        (snapshot, nested)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Stops one child: ask, wait its timeout, then kill (bounded unless `Shutdown::Infinity`).
pub(crate) async fn shutdown_child(cell: &ActorCell, shutdown: Shutdown) {
    match shutdown {
        Shutdown::Brutal => {
            let _ = cell.kill_and_wait(None).await;
        }
        Shutdown::Timeout(limit) => {
            if cell
                .stop_and_wait(Some(SHUTDOWN_REASON.to_owned()), Some(limit))
                .await
                .is_err()
            {
                tracing::warn!(actor = %cell.get_id(), timeout_ms = millis(limit), "child did not stop in time; killing it");
                let _ = cell.kill_and_wait(None).await;
            }
        }
        Shutdown::Infinity => {
            let _ = cell
                .stop_and_wait(Some(SHUTDOWN_REASON.to_owned()), None)
                .await;
        }
    }
}
