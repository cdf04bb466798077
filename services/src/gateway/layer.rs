//! [`GatewayLayer`]: the gateway's middleware as one tower layer, installed on every route.
//!
//! Per request, outermost first: [`correlation`] begins (ID, span), [`http_metrics`] starts
//! measuring, [`admission`](super::admission) runs its steps (rate limit, edge priority, deadline, body limit) and
//! the handler is called; the handler's future then runs under [`panic`](mod@super::panic)
//! isolation and the request's deadline; the metrics see the answer, and correlation finishes it
//! (standard error format, ID header, access log line).
//!
//! Written as a tower `Service` rather than `axum::middleware::from_fn` layers: every step before
//! the handler is synchronous, so the handler's service is called in `call` itself — nothing is
//! cloned per request and the request's work lives in one boxed future. Each `from_fn` layer
//! cloned the boxed service below it and boxed two futures on every request
//! (docs/benchmarks.md).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use super::admission::Admission;
use super::{ApiError, correlation, deadline, http_metrics, panic};

/// The gateway's middleware for every route (see the module documentation).
#[derive(Debug, Clone)]
pub struct GatewayLayer {
    admission: Arc<Admission>,
}

impl GatewayLayer {
    /// A layer admitting requests with `admission`.
    pub fn new(admission: Admission) -> Self {
        Self {
            admission: Arc::new(admission),
        }
    }
}

impl<S> Layer<S> for GatewayLayer {
    type Service = Gateway<S>;

    fn layer(&self, inner: S) -> Gateway<S> {
        Gateway {
            inner,
            admission: Arc::clone(&self.admission),
        }
    }
}

/// A route's service behind the gateway's middleware.
#[derive(Debug, Clone)]
pub struct Gateway<S> {
    inner: S,
    admission: Arc<Admission>,
}

impl<S> Service<Request> for Gateway<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let correlated = correlation::begin(&mut req);
        let measure = http_metrics::Measure::start(&req);
        let id = correlated.id().clone();
        let span = correlated.span().clone();
        // The handler is called only once admitted; a panic while it builds its future is
        // caught like one while it runs.
        let handler = self.admission.admit(&mut req).map(|admitted| {
            let called = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req)));
            (admitted, called)
        });
        let work = async move {
            let response = match handler {
                Err(refused) => ApiError::new(refused, id).into_response(),
                Ok((_, Err(payload))) => panic::response(id, payload.as_ref()),
                Ok((admitted, Ok(future))) => {
                    let run = panic::catch(id.clone(), async move {
                        // Infallible: the only value is the response.
                        match future.await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    });
                    let response =
                        deadline::run_until(admitted.deadline, admitted.timeout, id, run).await;
                    drop(admitted);
                    response
                }
            };
            measure.finish(&response);
            Ok(correlated.finish(response))
        };
        Box::pin(work.instrument(span))
    }
}
