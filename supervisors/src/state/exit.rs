//! What a supervisor does when a child exits: restart type, intensity, strategy, backoff,
//! auto shutdown, escalation.

use std::sync::Arc;

use ractor::ActorCell;
use tokio::time::Instant;

use super::{Pending, Status, SupervisorState};
use crate::decision::{Decision, ExitReason, decide};
use crate::error::SupervisorError;
use crate::metrics;
use crate::spec::{ChildId, Restart, Started};
use crate::supervisor::SupervisorMsg;

/// What the supervisor does once an exit is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterExit {
    /// Keep running.
    Continue,
    /// Shut down (auto shutdown): significant child `child` terminated.
    Shutdown {
        /// The significant child whose termination decided it.
        child: ChildId,
    },
}

impl SupervisorState {
    /// Applies the restart type, intensity and strategy to the exit of child `id`.
    pub(crate) async fn handle_exit(
        &mut self,
        myself: &ActorCell,
        id: ChildId,
        reason: ExitReason,
    ) -> Result<AfterExit, SupervisorError> {
        let now = Instant::now();
        let Some(child) = self.children.get_mut(&id) else {
            return Ok(AfterExit::Continue);
        };
        if let Status::Running { cell, since } = &child.status {
            self.by_actor.remove(&cell.get_id());
            if now.saturating_duration_since(*since) >= child.spec.backoff.reset_after() {
                child.attempt = 0;
            }
        }
        child.status = Status::Stopped;
        if !reason.is_normal() {
            child.last_failure = Some(reason.clone());
        }
        let significant = child.spec.significant;
        match decide(child.spec.restart, &reason) {
            Decision::Remove => {
                tracing::info!(supervisor = %self.label, child = %id, %reason, "temporary child exited; removed");
                self.forget(&id);
                return Ok(self.after_termination(id, significant));
            }
            Decision::Keep => {
                tracing::info!(supervisor = %self.label, child = %id, %reason, "transient child exited normally; not restarted");
                return Ok(self.after_termination(id, significant));
            }
            Decision::Restart => {}
        }
        let failed_seq = child.seq;
        if !self.intensity.record(now) {
            return Err(self.escalate(id, reason).await);
        }
        self.schedule_restart(myself, id, failed_seq, &reason, now)
            .await;
        Ok(AfterExit::Continue)
    }

    /// Auto shutdown after a child terminated for good (OTP 24's significant children).
    fn after_termination(&self, id: ChildId, significant: bool) -> AfterExit {
        let another_alive = || {
            self.children
                .values()
                .any(|c| c.spec.significant && !matches!(c.status, Status::Stopped))
        };
        if significant && self.auto_shutdown.after_significant_exit(another_alive) {
            tracing::info!(supervisor = %self.label, child = %id, auto_shutdown = ?self.auto_shutdown, "significant child terminated; shutting down");
            AfterExit::Shutdown { child: id }
        } else {
            AfterExit::Continue
        }
    }

    /// Stops the siblings the strategy affects (reverse start order) and schedules the restart of
    /// the group — every non-temporary child in it, running or not, as OTP does — after the
    /// failed child's backoff delay.
    async fn schedule_restart(
        &mut self,
        myself: &ActorCell,
        id: ChildId,
        failed_seq: u64,
        reason: &ExitReason,
        now: Instant,
    ) {
        let affected = self.strategy.affected(&self.order, failed_seq);
        let mut group = Vec::with_capacity(affected.len());
        for sibling in affected.iter().rev() {
            if *sibling == id {
                group.push(Arc::clone(sibling));
                continue;
            }
            let Some(child) = self.children.get(sibling) else {
                continue;
            };
            let restart = child.spec.restart;
            if let Some(token) = self.stop_child(sibling).await {
                // It joins this restart; an earlier one it triggered is superseded.
                self.cancel_restart(token, sibling);
            }
            if restart == Restart::Temporary {
                self.forget(sibling);
            } else {
                group.push(Arc::clone(sibling));
            }
        }
        group.reverse();

        let Some(child) = self.children.get_mut(&id) else {
            return;
        };
        let delay = child.spec.backoff.next_delay(child.attempt);
        child.attempt = child.attempt.saturating_add(1);
        let token = self.next_token;
        self.next_token += 1;
        let at = now + delay;
        for member in &group {
            if let Some(c) = self.children.get_mut(member) {
                c.status = Status::Restarting { token, at };
            }
        }
        tracing::warn!(
            supervisor = %self.label,
            child = %id,
            %reason,
            strategy = ?self.strategy,
            affected = group.len(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "child exited abnormally or is permanent; restart scheduled"
        );
        let msg = SupervisorMsg::restart(token);
        let timer = if delay.is_zero() {
            // Through the mailbox, never a loop in place: a stop or a query can get in between.
            let _ = myself.send_message(msg);
            None
        } else {
            Some(ractor::time::send_after(delay, myself.clone(), move || msg))
        };
        let pending = Pending {
            trigger: id,
            ids: group,
            timer,
        };
        self.pending.insert(token, pending);
    }

    /// Drops pending restart `token` when `id` is the child whose exit scheduled it: its timer is
    /// aborted and the members still waiting for it stay stopped. For any other member nothing is
    /// needed: its status no longer carries the token, so the restart passes it over.
    pub(super) fn cancel_restart(&mut self, token: u64, id: &str) {
        if self.pending.get(&token).is_none_or(|p| *p.trigger != *id) {
            return;
        }
        let Some(pending) = self.pending.remove(&token) else {
            return;
        };
        if let Some(timer) = pending.timer {
            timer.abort();
        }
        for member in &pending.ids {
            if let Some(c) = self.children.get_mut(member)
                && matches!(c.status, Status::Restarting { token: t, .. } if t == token)
            {
                c.status = Status::Stopped;
            }
        }
    }

    /// Starts the children of pending restart `token`, in start order. A failed start is handled
    /// as a failure of that child (which reschedules it and the siblings its strategy affects).
    pub(crate) async fn restart(
        &mut self,
        myself: &ActorCell,
        token: u64,
    ) -> Result<AfterExit, SupervisorError> {
        let Some(pending) = self.pending.remove(&token) else {
            return Ok(AfterExit::Continue); // cancelled
        };
        for id in pending.ids {
            let Some(child) = self.children.get_mut(&id) else {
                continue;
            };
            if !matches!(child.status, Status::Restarting { token: t, .. } if t == token) {
                continue;
            }
            let start = Arc::clone(&child.spec.start);
            match start(myself.clone()).await {
                Ok(Started::Running(cell)) => {
                    child.restarts += 1;
                    tracing::info!(supervisor = %self.label, child = %id, actor = %cell.get_id(), restarts = child.restarts, "child restarted");
                    metrics::restart(&id);
                    self.by_actor.insert(cell.get_id(), Arc::clone(&id));
                    child.status = Status::Running {
                        cell,
                        since: Instant::now(),
                    };
                }
                Ok(Started::Ignore) => {
                    child.status = Status::Stopped;
                    tracing::info!(supervisor = %self.label, child = %id, "child ignored its restart; kept, not running");
                }
                Err(e) => {
                    child.status = Status::Stopped;
                    let reason = ExitReason::StartFailed(Arc::new(e));
                    tracing::warn!(supervisor = %self.label, child = %id, %reason, "restart failed");
                    return self.handle_exit(myself, id, reason).await;
                }
            }
        }
        Ok(AfterExit::Continue)
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
}
