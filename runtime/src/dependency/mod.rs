//! One dependency, one actor: the guarded call path and the actor that owns the breaker.
//!
//! - [`Dependency`] is what a user implements; [`DependencyError`] says what a failure means for
//!   retries and the breaker (transient, permanent, the caller's fault, refused credentials).
//! - [`DependencyHandle`] is what callers hold; [`CallContext`] travels with each call.
//! - The actor (internal) is the single writer of the breaker state and runs under a supervisor;
//!   its state lives outside it so a restart keeps it.
//!
//! How a call flows, and why the hot path never touches the actor's mailbox, is described in
//! `docs/architecture.md`.

mod actor;
mod classify;
mod context;
mod controls;
mod drain;
mod error;
mod execute;
mod failure;
mod gate;
mod handle;
mod histogram;
mod metrics;
mod outcomes;
mod permit;
mod probe;
mod shared;
mod striped;
mod traits;

pub use actor::{BreakerCommand, DependencyMsg, PolicyUpdateError};
pub use classify::StatusError;
pub use context::CallContext;
pub use controls::{ControlError, Controls};
pub use error::{CallError, StopReason};
pub use failure::{DependencyError, FailureKind};
pub use handle::{Answer, AnswerSource, DependencyHandle};
pub use histogram::BUCKETS_SECONDS;
pub use metrics::{CALL_OUTCOMES, describe as describe_metrics, names as metric_names};
pub use shared::{
    DependencySnapshot, ProbeStatus, RECENT_TRANSITIONS, RetryBudgetStatus, TransitionEvent,
    TransitionView, UnauthorizedStatus,
};
pub use traits::{Dependency, Probe};

pub(crate) use actor::{ActorArgs, DependencyActor};
pub(crate) use execute::{Attempt, execute};
pub(crate) use handle::{fallback_answer, fallback_cause};
pub(crate) use histogram::DurationHistogram;
pub(crate) use metrics::MetricsScope;
pub(crate) use shared::Shared;
