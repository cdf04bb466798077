//! What a user implements: the [`Dependency`] trait and its health [`Probe`].

use std::future::Future;

use super::context::CallContext;
use super::failure::DependencyError;

/// One external thing a service calls: an LLM provider, an inference endpoint, a database.
///
/// Implementations are shared by all callers (`&self`), so keep per-call state in the request.
/// A call returns a [`DependencyError`] that says whether trying again may help.
pub trait Dependency: Send + Sync + 'static {
    /// What a call sends. Cloned once per attempt that may be retried, so keep it cheap to clone
    /// (`Arc`, `bytes::Bytes`, small values).
    type Request: Clone + Send + Sync + 'static;
    /// What a successful call returns.
    type Response: Send + Sync + 'static;

    /// Performs one attempt. The guard around it enforces the deadline in `ctx`; the attempt
    /// itself does not need to.
    fn call(
        &self,
        req: Self::Request,
        ctx: &CallContext,
    ) -> impl Future<Output = Result<Self::Response, DependencyError>> + Send;

    /// A cheap health check run by the owning actor while the circuit is half-open and no traffic
    /// arrives, so recovery is noticed without waiting for a caller. The default has no probe.
    fn probe(&self, ctx: &CallContext) -> impl Future<Output = Probe> + Send {
        let _ = ctx;
        std::future::ready(Probe::Unsupported)
    }

    /// Called by the owning actor when it starts again after a crash: drop cached connections or
    /// other client state that the crash may have left broken. The default does nothing.
    fn reset(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The result of a [`Dependency::probe`].
#[derive(Debug)]
pub enum Probe {
    /// The dependency answered the health check.
    Healthy,
    /// The health check failed.
    Unhealthy(DependencyError),
    /// This dependency has no health check.
    Unsupported,
}
