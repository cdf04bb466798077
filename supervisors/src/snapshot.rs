//! A serialisable picture of a live supervision tree, for status pages and dashboards.

use serde::{Deserialize, Serialize};

use crate::auto_shutdown::AutoShutdown;
use crate::spec::{ChildKind, Restart};
use crate::strategy::Strategy;

/// One supervisor and its children, nested supervisors included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisorSnapshot {
    /// The supervisor's label (its name, or its child id under its parent).
    pub name: String,
    /// ractor's actor id.
    pub actor_id: String,
    /// Its strategy.
    pub strategy: Strategy,
    /// Allowed restarts within `period_ms`.
    pub intensity: u32,
    /// The intensity window in milliseconds.
    pub period_ms: u64,
    /// Restarts counted in the current window.
    pub restarts_in_period: usize,
    /// When significant children terminating shut it down.
    #[serde(default)]
    pub auto_shutdown: AutoShutdown,
    /// Children in start order.
    pub children: Vec<ChildSnapshot>,
}

/// One child of a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSnapshot {
    /// The child's id.
    pub id: String,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
    /// Whether it counts for the supervisor's auto shutdown.
    #[serde(default)]
    pub significant: bool,
    /// ractor's actor id of the running incarnation.
    pub actor_id: Option<String>,
    /// Running, waiting for a restart, or stopped.
    pub status: ChildStatus,
    /// Restarts by the supervisor after an exit, since the supervisor started (a
    /// `restart_child` on request is not counted).
    pub restarts: u64,
    /// The last abnormal exit (failure, panic, kill by the supervisor, failed start), displayed;
    /// normal exits never show here.
    pub last_failure: Option<String>,
    /// A nested supervisor's own snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<Box<SupervisorSnapshot>>,
    /// Why a nested supervisor's snapshot is missing (it did not answer in time, or is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_error: Option<String>,
}

/// A child's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChildStatus {
    /// Running.
    Running,
    /// Waiting for its restart (backoff).
    Restarting {
        /// Milliseconds until the restart is attempted.
        in_ms: u64,
    },
    /// Held but not running and not going to be restarted: a transient child that exited
    /// normally, a child terminated on request, or one whose start ignored.
    Stopped,
}

/// How many children a supervisor has, by state and kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildCounts {
    /// Child specifications held.
    pub specs: usize,
    /// Children running.
    pub active: usize,
    /// Children waiting for a restart.
    pub restarting: usize,
    /// Worker children.
    pub workers: usize,
    /// Supervisor children.
    pub supervisors: usize,
}
