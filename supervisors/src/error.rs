//! Typed errors of the supervision crate.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorCell;

use crate::decision::ExitReason;
use crate::spec::ChildId;

/// A restart backoff whose settings make no sense; refused when the [`Backoff`](crate::Backoff) is built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidBackoff {
    /// `min` is larger than `max`.
    #[error("backoff min {min:?} is larger than max {max:?}")]
    MinAboveMax {
        /// The minimum delay given.
        min: Duration,
        /// The maximum delay given.
        max: Duration,
    },
    /// `min` is zero while `max` is not: the delays would never grow from zero.
    #[error(
        "backoff min is zero while max is {max:?}: delays would never grow; use Backoff::none() for immediate restarts"
    )]
    ZeroMin {
        /// The maximum delay given.
        max: Duration,
    },
    /// The random factor is outside `[0, 1]` (or NaN).
    #[error("backoff random factor {0} must be within [0, 1]")]
    RandomFactor(f64),
    /// The reset time is shorter than `min`: the counter would reset between crashes.
    #[error("backoff reset time {reset_after:?} is shorter than min {min:?}")]
    ResetBelowMin {
        /// The reset time given.
        reset_after: Duration,
        /// The minimum delay.
        min: Duration,
    },
}

/// A supervisor specification that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// Two children share an id.
    #[error("duplicate child id `{0}`")]
    DuplicateChild(ChildId),
    /// The restart-intensity period is zero.
    #[error("restart intensity period must be greater than zero")]
    ZeroPeriod,
    /// A permanent child is marked significant (it would never terminate for good).
    #[error("child `{0}` is permanent and cannot be significant")]
    SignificantPermanent(ChildId),
    /// A child is marked significant under a supervisor whose auto shutdown is `never`.
    #[error("child `{0}` is significant but the supervisor's auto_shutdown is never")]
    SignificantWithoutAutoShutdown(ChildId),
}

/// Everything that can go wrong when starting, asking or running a supervisor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The specification was refused before anything started.
    #[error("invalid supervisor specification")]
    InvalidSpec(#[from] SpecError),
    /// `start_child`: a child with this id is already running (OTP's `already_started`).
    #[error("child `{id}` is already started (actor {})", .actor.get_id())]
    AlreadyStarted {
        /// The child's id.
        id: ChildId,
        /// Its running incarnation.
        actor: ActorCell,
    },
    /// `start_child`: a child with this id is held but not running (OTP's `already_present`):
    /// restart it with `restart_child` or remove it with `delete_child` first.
    #[error("child `{0}` is already present (not running)")]
    AlreadyPresent(ChildId),
    /// No child with this id exists under the supervisor.
    #[error("no child with id `{0}`")]
    NoSuchChild(ChildId),
    /// `restart_child` / `delete_child`: the child is running (terminate it first).
    #[error("child `{0}` is running")]
    ChildRunning(ChildId),
    /// `restart_child` / `delete_child`: the child is waiting for a scheduled restart.
    #[error("child `{0}` is waiting for its restart")]
    ChildRestarting(ChildId),
    /// A child failed to start (its spawn or `pre_start` failed).
    #[error("child `{id}` failed to start")]
    StartFailed {
        /// The child that failed to start.
        id: ChildId,
        /// Why ractor refused to start it.
        #[source]
        source: Arc<ractor::SpawnErr>,
    },
    /// The supervisor actor itself could not be spawned.
    #[error("supervisor could not be spawned")]
    Spawn(#[source] ractor::SpawnErr),
    /// More than `max_restarts` restarts happened within `period`: the supervisor stopped its
    /// children and failed, so its parent decides (escalation).
    #[error(
        "supervisor `{supervisor}` exceeded its restart intensity ({max_restarts} in {period:?}) after child `{child}` exited"
    )]
    IntensityExceeded {
        /// Label of the supervisor that gave up.
        supervisor: Arc<str>,
        /// The child whose exit was one restart too many.
        child: ChildId,
        /// The configured intensity.
        max_restarts: u32,
        /// The configured period.
        period: Duration,
        /// The exit that exceeded the intensity.
        #[source]
        reason: ExitReason,
    },
    /// The supervisor did not answer within the call timeout.
    #[error("supervisor did not answer within {0:?}")]
    Timeout(Duration),
    /// The supervisor is not running (stopped, failed, or its mailbox is closed).
    #[error("supervisor is not running")]
    Unavailable,
}
