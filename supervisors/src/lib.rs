//! OTP-style supervision trees on ractor.
//!
//! (crate docs follow)

mod backoff;
mod decision;
mod error;
mod handle;
mod intensity;
mod metrics;
mod snapshot;
mod spec;
mod state;
mod strategy;
mod supervisor;

pub use backoff::Backoff;
pub use decision::{Decision, ExitReason, decide};
pub use error::{InvalidBackoff, SpecError, SupervisorError};
pub use handle::{DEFAULT_CALL_TIMEOUT, SupervisorRef};
pub use metrics::{ACTOR_RESTARTS_TOTAL, SUPERVISOR_ESCALATIONS_TOTAL, describe_metrics};
pub use snapshot::{ChildCounts, ChildSnapshot, ChildStatus, SupervisorSnapshot};
pub use spec::{
    ChildId, ChildKind, ChildSpec, DEFAULT_INTENSITY, DEFAULT_PERIOD, DEFAULT_WORKER_SHUTDOWN,
    Restart, Shutdown, StartFn, StartFuture, SupervisorSpec,
};
pub use state::SupervisorState;
pub use strategy::Strategy;
pub use supervisor::{Supervisor, SupervisorArguments, SupervisorMsg};
