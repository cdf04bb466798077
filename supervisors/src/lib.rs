//! OTP-style supervision trees on ractor.
//!
//! ractor reports raw supervision events and has no restart policy (its default
//! `handle_supervisor_evt` stops the parent). This crate adds what Erlang/OTP's `supervisor` and
//! Akka's `BackoffSupervisor` give:
//!
//! - **Strategies** ([`Strategy`]): one_for_one, one_for_all, rest_for_one. A group restart
//!   restarts every non-temporary child of the group, also one that was not running (a transient
//!   child that had exited normally, one terminated on request), as OTP does.
//! - **Restart types** ([`Restart`]): permanent, transient (restarted only after an abnormal
//!   exit, see [`ExitReason::is_normal`]), temporary (never restarted, forgotten on exit). Exit
//!   reasons are classified from ractor's event kinds, never from the text of a stop reason.
//! - **Restart intensity**: more than [`SupervisorSpec::intensity`] restarts within
//!   [`SupervisorSpec::period`] (default 1 in 5 s, as OTP; a restart exactly `period` ago still
//!   counts) ⇒ the supervisor stops its children in reverse start order and fails with
//!   [`SupervisorError::IntensityExceeded`], which its parent receives as the child's failure
//!   (escalation).
//! - **Restart backoff** ([`Backoff`]): exponential with jitter, reset after stable running or on
//!   request ([`SupervisorRef::reset_backoff`]); settings that make no sense are refused when
//!   built. The delay is a ractor timer (tokio time), so tests drive it with `tokio::time::pause`.
//! - **Failed starts**: a child whose restart fails (`pre_start` error or panic, which ractor does
//!   not report to the supervisor) counts as another failure of that child: it goes through the
//!   intensity check and is retried by a message to the supervisor itself, never a loop in place.
//!   A start function may also decline to run ([`Started::Ignore`], OTP's `ignore`).
//! - **Shutdown** ([`Shutdown`]): stopping a supervisor stops its children in reverse start order,
//!   each asked to stop and killed after its timeout.
//! - **Child administration**, as OTP: [`SupervisorRef::start_child`],
//!   [`SupervisorRef::terminate_child`] (keeps the spec of a permanent or transient child and
//!   cancels its part of a pending restart), [`SupervisorRef::restart_child`],
//!   [`SupervisorRef::delete_child`]; same policies, O(log n) bookkeeping per event (tested with
//!   10,000 children).
//! - **Auto shutdown** ([`AutoShutdown`], OTP 24): a supervisor whose significant children
//!   ([`ChildSpec::with_significant`]) terminated shuts its subtree down.
//! - **Introspection**: [`SupervisorRef::snapshot`] returns a serialisable [`SupervisorSnapshot`]
//!   of the live tree; nested supervisors are asked within a bounded time.
//! - **Metrics**: `bulwark_actor_restarts_total{actor}`, `bulwark_supervisor_escalations_total{supervisor}`;
//!   every restart and escalation is logged with `tracing`, with the failure reason.
//!
//! Things to know:
//! - A child's start function runs inside its supervisor (as in OTP, start is synchronous), so a
//!   child must not call its own supervisor from `pre_start`.
//! - Children added at run time belong to the running incarnation of their supervisor: when a
//!   nested supervisor is itself restarted, it starts again with the children of its spec.
//! - Actors are spawned unnamed (ractor's registry is process-global, and a restarted child must
//!   not collide with its predecessor's name); only a root supervisor may take a name.
//!
//! # A three-level tree
//!
//! ```
//! use std::time::Duration;
//!
//! use bulwark_supervisors::{
//!     Backoff, ChildSpec, ChildStatus, Restart, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
//! };
//! use ractor::{Actor, ActorProcessingErr, ActorRef};
//!
//! /// A worker that fails when told to.
//! #[derive(Clone)]
//! struct Worker;
//!
//! impl Actor for Worker {
//!     type Msg = &'static str;
//!     type State = ();
//!     type Arguments = ();
//!
//!     async fn pre_start(&self, _: ActorRef<Self::Msg>, _: ()) -> Result<(), ActorProcessingErr> {
//!         Ok(())
//!     }
//!
//!     async fn handle(&self, _: ActorRef<Self::Msg>, msg: Self::Msg, _: &mut ()) -> Result<(), ActorProcessingErr> {
//!         if msg == "crash" {
//!             return Err("asked to crash".into());
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Level 3: workers, under two level-2 supervisors, under the root.
//!     let backoff = Backoff::exponential(Duration::from_millis(10), Duration::from_secs(5), 0.2)?;
//!     let inference = SupervisorSpec::new(Strategy::OneForOne)
//!         .with_child(ChildSpec::worker("model-a", Worker, ()).with_backoff(backoff))
//!         .with_child(ChildSpec::worker("model-b", Worker, ()).with_backoff(backoff));
//!     let storage = SupervisorSpec::new(Strategy::RestForOne)
//!         .with_child(ChildSpec::worker("db", Worker, ()))
//!         .with_child(ChildSpec::worker("cache", Worker, ()).with_restart(Restart::Transient));
//!     let root = SupervisorSpec::new(Strategy::OneForOne)
//!         .with_intensity(3, Duration::from_secs(10))
//!         .with_child(ChildSpec::supervisor("inference", inference))
//!         .with_child(ChildSpec::supervisor("storage", storage));
//!     let (root, _join) = Supervisor::spawn(None, root).await?;
//!
//!     // Crash a leaf: only it is restarted, after its backoff.
//!     let inference = root.child("inference").await?.and_then(SupervisorRef::from_cell).ok_or("no inference")?;
//!     let leaf = inference.child("model-a").await?.ok_or("no model-a")?;
//!     leaf.send_message("crash")?;
//!     let _ = leaf.wait(None).await;
//!
//!     let tree = root.snapshot().await?;
//!     let model_a = &tree.children[0].supervisor.as_ref().ok_or("no nested snapshot")?.children[0];
//!     assert_eq!(model_a.last_failure.as_deref(), Some("failed: asked to crash"));
//!     assert!(matches!(model_a.status, ChildStatus::Restarting { .. } | ChildStatus::Running));
//!     assert_eq!(tree.children[1].supervisor.as_ref().ok_or("no nested snapshot")?.children.len(), 2);
//!     println!("{}", serde_json::to_string_pretty(&tree)?);
//!
//!     root.stop().await; // storage (cache, db), then inference (model-b, model-a)
//!     Ok(())
//! }
//! ```

mod auto_shutdown;
mod backoff;
mod decision;
mod error;
mod handle;
mod intensity;
mod metrics;
mod shutdown;
mod snapshot;
mod spec;
mod state;
mod strategy;
mod supervisor;

pub use auto_shutdown::AutoShutdown;
pub use backoff::Backoff;
pub use decision::{Decision, ExitReason, decide};
pub use error::{InvalidBackoff, SpecError, SupervisorError};
pub use handle::{DEFAULT_CALL_TIMEOUT, SupervisorRef};
pub use metrics::{ACTOR_RESTARTS_TOTAL, SUPERVISOR_ESCALATIONS_TOTAL, describe_metrics};
pub use snapshot::{ChildCounts, ChildSnapshot, ChildStatus, SupervisorSnapshot};
pub use spec::{
    ChildId, ChildKind, ChildSpec, DEFAULT_INTENSITY, DEFAULT_PERIOD, DEFAULT_WORKER_SHUTDOWN,
    Restart, Shutdown, StartFn, StartFuture, Started, SupervisorSpec,
};
pub use state::SupervisorState;
pub use strategy::Strategy;
pub use supervisor::{AUTO_SHUTDOWN_REASON, Supervisor, SupervisorArguments, SupervisorMsg};
