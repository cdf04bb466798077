//! The picture of a supervisor for status pages.

use std::time::Duration;

use ractor::ActorCell;
use tokio::time::Instant;

use super::{Status, SupervisorState};
use crate::handle::SupervisorRef;
use crate::snapshot::{ChildSnapshot, ChildStatus, SupervisorSnapshot};
use crate::spec::ChildKind;

impl SupervisorState {
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
                significant: child.spec.significant,
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
            auto_shutdown: self.auto_shutdown,
            children,
        };
        (snapshot, nested)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
