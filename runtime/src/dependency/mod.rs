//! One dependency, one actor: the guarded call path and the actor that owns the breaker.
//!
//! - [`Dependency`] is what a user implements; [`DependencyError`] says transient or permanent.
//! - [`DependencyHandle`] is what callers hold; [`CallContext`] travels with each call.
//! - The actor (internal) is the single writer of the breaker state and runs under a supervisor;
//!   its state lives outside it so a restart keeps it.
//!
//! How a call flows, and why the hot path never touches the actor's mailbox, is described in
//! `docs/architecture.md`.

mod actor;
mod context;
mod error;
mod execute;
mod gate;
mod handle;
mod histogram;
mod metrics;
mod outcomes;
mod shared;
mod striped;
mod traits;

pub use actor::{BreakerCommand, DependencyMsg, PolicyUpdateError};
pub use context::CallContext;
pub use error::{CallError, StopReason};
pub use handle::{Answer, AnswerSource, ControlError, DependencyHandle};
pub use histogram::BUCKETS_SECONDS;
pub use metrics::{describe as describe_metrics, names as metric_names};
pub use shared::{DependencySnapshot, ProbeStatus, TransitionEvent, TransitionView};
pub use traits::{Dependency, DependencyError, FailureKind, Probe};

pub(crate) use actor::{ActorArgs, DependencyActor};
pub(crate) use execute::{Attempt, execute};
pub(crate) use shared::Shared;
