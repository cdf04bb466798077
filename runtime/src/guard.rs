//! [`Guard`]: breaker, bulkhead, retry and deadline around any async closure — the first way in.
//!
//! A guard has everything a [`DependencyHandle`](crate::dependency::DependencyHandle) has (its
//! own supervised actor, breaker, bulkhead, retry budget and metrics) but no `Dependency` type:
//! the work is the closure passed to [`Guard::run`], called once per attempt. Its error only has
//! to convert into [`DependencyError`]; `reqwest::Error`, `std::io::Error` and
//! `http::StatusCode` already do, classified by what they mean (see
//! [`DependencyError::from_status`]).
//!
//! ```
//! use bulwark_runtime::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().guard("disk", Policy::default()).build().await?;
//! let disk = runtime.guard("disk")?;
//! let text = disk
//!     .run(CallContext::untracked(), |_ctx| async {
//!         std::fs::read_to_string("Cargo.toml") // io::Error converts: NotFound is permanent
//!     })
//!     .await?;
//! assert!(text.contains("bulwark-runtime"));
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```

use std::future::Future;

use crate::dependency::{
    Attempt, CallContext, CallError, Controls, Dependency, DependencyError, execute,
};

/// A guard around whatever its user runs inside it. Cheap to clone; dereferences to
/// [`Controls`] (state, snapshot, commands).
#[derive(Debug, Clone)]
pub struct Guard {
    controls: Controls,
}

impl std::ops::Deref for Guard {
    type Target = Controls;
    fn deref(&self) -> &Controls {
        &self.controls
    }
}

impl Guard {
    pub(crate) fn new(controls: Controls) -> Self {
        Self { controls }
    }

    /// Runs `work` through breaker, bulkhead, deadline and retry. `work` is called once per
    /// attempt with that attempt's context (correlation ID, deadline, attempt number).
    pub async fn run<T, E, F, Fut>(&self, ctx: CallContext, work: F) -> Result<T, CallError>
    where
        F: FnMut(CallContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<DependencyError>,
    {
        execute(self.controls.shared(), ctx, (), &mut Closure(work)).await
    }
}

struct Closure<F>(F);

impl<F, Fut, T, E> Attempt<()> for Closure<F>
where
    F: FnMut(CallContext) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<DependencyError>,
{
    type Response = T;

    async fn attempt(&mut self, _req: (), ctx: &CallContext) -> Result<T, DependencyError> {
        (self.0)(ctx.clone()).await.map_err(Into::into)
    }
}

/// The stand-in dependency that owns a guard's actor: it has nothing to call and nothing to
/// probe, and no one can reach its `call` (guards only run closures).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoTarget;

impl Dependency for NoTarget {
    type Request = ();
    type Response = ();
    async fn call(&self, _req: (), _ctx: &CallContext) -> Result<(), DependencyError> {
        Err(DependencyError::rejected_request(
            "a guard runs closures only",
        ))
    }
}
