//! Bulwark's resilience runtime.
//!
//! Each external dependency (an LLM provider, an inference endpoint, a database) is owned by a
//! supervised actor. Callers hold a cheap [`DependencyHandle`](dependency::DependencyHandle); every
//! call through it passes the circuit breaker, the bulkhead, the retry policy and a deadline, and
//! every failure comes back as a typed error that maps onto the one wire format in [`error`].
//!
//! ```
//! use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
//! use bulwark_runtime::policy::Policy;
//! use bulwark_runtime::runtime::Runtime;
//!
//! struct Echo;
//! impl Dependency for Echo {
//!     type Request = u32;
//!     type Response = u32;
//!     async fn call(&self, req: u32, _ctx: &CallContext) -> Result<u32, DependencyError> {
//!         Ok(req)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let runtime = Runtime::builder()
//!     .dependency("echo", Echo, Policy::default())
//!     .build()
//!     .await
//!     .unwrap();
//! let echo = runtime.handle::<Echo>("echo").unwrap();
//! assert_eq!(echo.call(7, CallContext::untracked()).await.unwrap(), 7);
//! runtime.shutdown().await;
//! # }
//! ```
//!
//! One concern per module: [`breaker`], [`bulkhead`], [`retry`], [`timeout`], [`fallback`],
//! [`dependency`] (the actor and the handle), [`http`] (JSON-over-HTTP dependencies),
//! [`pool`] (inference pools: balancing, failover, hedging), [`registry`] (keyed dependencies),
//! [`layer`] (tower), [`chaos`] (fault injection), [`policy`] (TOML settings), [`supervision`],
//! [`error`], [`correlation`], [`telemetry`], [`clock`].

pub mod breaker;
pub mod bulkhead;
pub mod chaos;
pub mod clock;
pub mod correlation;
pub mod dependency;
pub mod error;
pub mod fallback;
pub mod guard;
pub mod http;
pub mod layer;
pub mod policy;
pub mod pool;
pub mod registry;
pub mod retry;
pub mod runtime;
pub mod supervision;
pub mod telemetry;
pub mod timeout;

/// What an embedder needs, in one import: `use bulwark_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::bulkhead::Priority;
    pub use crate::correlation::CorrelationId;
    pub use crate::dependency::{
        CallContext, CallError, Dependency, DependencyError, DependencyHandle, FailureKind,
    };
    pub use crate::guard::Guard;
    pub use crate::policy::Policy;
    pub use crate::runtime::{Runtime, RuntimeError};
}
