//! A `tower::Layer` that puts a Bulwark guard around any tower `Service`.
//!
//! Users of the tower ecosystem (reqwest-based clients, tonic channels, hyper services) adopt
//! Bulwark without rewriting their client as a [`Dependency`](crate::dependency::Dependency):
//! wrap the service in [`GuardLayer`] built from a [`Guard`] that the runtime created. The guard
//! has its own supervised actor, breaker, bulkhead, retry budget and metrics, exactly like a
//! dependency.
//!
//! Requests must be `Clone` so they can be retried. Errors of the inner service are classified by a
//! [`Classify`] policy (transient by default) and kept, boxed, as the failure's cause; a response
//! can also be classified as a failure (an HTTP 503, say) with [`GuardLayer::classify_response`].

mod service;

use std::sync::Arc;

use crate::dependency::{CallContext, DependencyError, FailureKind};
use crate::guard::Guard;

pub use service::{GuardFuture, GuardService};

/// Decides whether an inner service error is worth retrying.
pub type Classify<E> = Arc<dyn Fn(&E) -> FailureKind + Send + Sync>;

/// Turns a successful-looking response into a failure (e.g. HTTP 503), or lets it through.
pub type ClassifyResponse<R> = Arc<dyn Fn(&R) -> Option<DependencyError> + Send + Sync>;

/// Builds the [`CallContext`] for a request (correlation ID, deadline, priority).
pub type ContextFn<Req> = Arc<dyn Fn(&Req) -> CallContext + Send + Sync>;

/// The layer: settings only; behaviour is in [`GuardService`].
pub struct GuardLayer<Req, Resp, E> {
    guard: Guard,
    classify: Classify<E>,
    classify_response: Option<ClassifyResponse<Resp>>,
    context: ContextFn<Req>,
}

impl<Req, Resp, E> Clone for GuardLayer<Req, Resp, E> {
    fn clone(&self) -> Self {
        Self {
            guard: self.guard.clone(),
            classify: Arc::clone(&self.classify),
            classify_response: self.classify_response.clone(),
            context: Arc::clone(&self.context),
        }
    }
}

impl<Req, Resp, E> GuardLayer<Req, Resp, E> {
    /// A layer that treats every inner error as transient and runs calls untracked.
    pub fn new(guard: Guard) -> Self {
        Self {
            guard,
            classify: Arc::new(|_| FailureKind::Transient),
            classify_response: None,
            context: Arc::new(|_| CallContext::untracked()),
        }
    }

    /// Classifies inner errors.
    pub fn classify(mut self, f: impl Fn(&E) -> FailureKind + Send + Sync + 'static) -> Self {
        self.classify = Arc::new(f);
        self
    }

    /// Classifies responses; `Some(error)` counts the response as a failed attempt.
    pub fn classify_response(
        mut self,
        f: impl Fn(&Resp) -> Option<DependencyError> + Send + Sync + 'static,
    ) -> Self {
        self.classify_response = Some(Arc::new(f));
        self
    }

    /// Builds each call's context from its request (e.g. correlation ID from a header).
    pub fn context(mut self, f: impl Fn(&Req) -> CallContext + Send + Sync + 'static) -> Self {
        self.context = Arc::new(f);
        self
    }
}

impl<S, Req, E> tower::Layer<S> for GuardLayer<Req, S::Response, E>
where
    S: tower::Service<Req, Error = E>,
{
    type Service = GuardService<S, Req, E>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService::new(inner, self.clone())
    }
}
