//! [`GuardService`]: the service the [`GuardLayer`](super::GuardLayer) produces.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Service, ServiceExt};

use crate::dependency::{Attempt, CallContext, CallError, DependencyError, FailureKind, execute};

use super::GuardLayer;

/// A tower service guarded by Bulwark.
pub struct GuardService<S, Req, E>
where
    S: Service<Req>,
{
    inner: S,
    layer: GuardLayer<Req, S::Response, E>,
}

impl<S, Req, E> Clone for GuardService<S, Req, E>
where
    S: Service<Req> + Clone,
{
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S, Req, E> GuardService<S, Req, E>
where
    S: Service<Req>,
{
    pub(crate) fn new(inner: S, layer: GuardLayer<Req, S::Response, E>) -> Self {
        Self { inner, layer }
    }
}

/// The response future of [`GuardService`] (boxed: the guarded call is an `async` state machine).
pub type GuardFuture<R> = Pin<Box<dyn Future<Output = Result<R, CallError>> + Send>>;

struct TowerAttempt<S, Req, E>
where
    S: Service<Req>,
{
    svc: S,
    layer: GuardLayer<Req, S::Response, E>,
}

impl<S, Req, E> Attempt<Req> for TowerAttempt<S, Req, E>
where
    S: Service<Req, Error = E> + Send,
    S::Future: Send,
    E: std::error::Error + Send + Sync + 'static,
{
    type Response = S::Response;

    async fn attempt(
        &mut self,
        req: Req,
        _ctx: &CallContext,
    ) -> Result<S::Response, DependencyError> {
        let classify = |e: E| match (self.layer.classify)(&e) {
            FailureKind::Transient => DependencyError::transient(e),
            FailureKind::Permanent => DependencyError::permanent(e),
            FailureKind::RejectedRequest => DependencyError::rejected_request(e),
            FailureKind::Unauthorized => DependencyError::unauthorized(e),
        };
        let ready = match self.svc.ready().await {
            Ok(svc) => svc,
            Err(e) => return Err(classify(e)),
        };
        let response = match ready.call(req).await {
            Ok(response) => response,
            Err(e) => return Err(classify(e)),
        };
        match self
            .layer
            .classify_response
            .as_ref()
            .and_then(|f| f(&response))
        {
            Some(err) => Err(err),
            None => Ok(response),
        }
    }
}

impl<S, Req, E> Service<Req> for GuardService<S, Req, E>
where
    S: Service<Req, Error = E> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    Req: Clone + Send + Sync + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = CallError;
    type Future = GuardFuture<S::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Admission happens per call (breaker, bulkhead); the inner service's readiness is awaited
        // inside each attempt, bounded by its deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        // The clone that was polled ready is the one used (tower's convention).
        let clone = self.inner.clone();
        let svc = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        let shared = Arc::clone(layer.guard.shared());
        let ctx = (layer.context)(&req);
        Box::pin(async move {
            let mut attempt = TowerAttempt { svc, layer };
            execute(&shared, ctx, req, &mut attempt).await
        })
    }
}
