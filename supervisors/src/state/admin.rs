//! What an operator asks of a supervisor about one child: OTP's `terminate_child`,
//! `restart_child`, `delete_child`, and Akka's backoff `Reset`.

use std::sync::Arc;

use ractor::ActorCell;
use tokio::time::Instant;

use super::{Status, SupervisorState};
use crate::error::SupervisorError;
use crate::spec::{ChildId, Restart, Started};

impl SupervisorState {
    /// Stops child `id` (within its shutdown timeout) and cancels its part of a pending restart
    /// — all of it when its own exit scheduled that restart. A permanent or transient child is
    /// kept, stopped (restartable with [`Self::restart_child`]); a temporary one is forgotten.
    /// Never triggers a restart or an auto shutdown.
    pub(crate) async fn terminate_child(&mut self, id: &str) -> Result<(), SupervisorError> {
        let Some(child) = self.children.get(id) else {
            return Err(SupervisorError::NoSuchChild(ChildId::from(id)));
        };
        let restart = child.spec.restart;
        if let Some(token) = self.stop_child(id).await {
            self.cancel_restart(token, id);
            tracing::debug!(supervisor = %self.label, child = %id, "pending restart of child cancelled");
        }
        if restart == Restart::Temporary {
            self.forget(id);
        }
        Ok(())
    }

    /// Starts a stopped child again (OTP's `restart_child`); `Ok(None)` when its start ignored.
    /// A failed start leaves it stopped and is not counted by the restart intensity.
    pub(crate) async fn restart_child(
        &mut self,
        myself: &ActorCell,
        id: &str,
    ) -> Result<Option<ActorCell>, SupervisorError> {
        let child = self.stopped_child(id)?;
        let start = Arc::clone(&child.spec.start);
        let id = Arc::clone(&child.spec.id);
        let started = start(myself.clone())
            .await
            .map_err(|e| SupervisorError::StartFailed {
                id: Arc::clone(&id),
                source: Arc::new(e),
            })?;
        let Started::Running(cell) = started else {
            tracing::info!(supervisor = %self.label, child = %id, "child ignored its restart; kept, not running");
            return Ok(None);
        };
        tracing::info!(supervisor = %self.label, child = %id, actor = %cell.get_id(), "child restarted on request");
        self.by_actor.insert(cell.get_id(), Arc::clone(&id));
        if let Some(child) = self.children.get_mut(&id) {
            child.status = Status::Running {
                cell: cell.clone(),
                since: Instant::now(),
            };
        }
        Ok(Some(cell))
    }

    /// Forgets a stopped child (OTP's `delete_child`).
    pub(crate) fn delete_child(&mut self, id: &str) -> Result<(), SupervisorError> {
        self.stopped_child(id)?;
        self.forget(id);
        tracing::debug!(supervisor = %self.label, child = %id, "child deleted");
        Ok(())
    }

    /// Terminates and forgets child `id`, whatever its restart type.
    pub(crate) async fn remove_child(&mut self, id: &str) -> Result<(), SupervisorError> {
        self.terminate_child(id).await?;
        self.forget(id);
        Ok(())
    }

    /// Resets the backoff of child `id`: its next restart waits the minimum delay (Akka's
    /// `BackoffSupervisor.Reset`). A restart already scheduled keeps its time.
    pub(crate) fn reset_backoff(&mut self, id: &str) -> Result<(), SupervisorError> {
        let Some(child) = self.children.get_mut(id) else {
            return Err(SupervisorError::NoSuchChild(ChildId::from(id)));
        };
        child.attempt = 0;
        tracing::debug!(supervisor = %self.label, child = %id, "backoff reset");
        Ok(())
    }

    /// Child `id` if it is held and stopped; otherwise why not (OTP's `running`, `restarting`,
    /// `not_found`).
    fn stopped_child(&self, id: &str) -> Result<&super::Child, SupervisorError> {
        let Some(child) = self.children.get(id) else {
            return Err(SupervisorError::NoSuchChild(ChildId::from(id)));
        };
        let id = || Arc::clone(&child.spec.id);
        match child.status {
            Status::Running { .. } => Err(SupervisorError::ChildRunning(id())),
            Status::Restarting { .. } => Err(SupervisorError::ChildRestarting(id())),
            Status::Stopped => Ok(child),
        }
    }
}
