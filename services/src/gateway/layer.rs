//! [`GatewayLayer`]: the gateway's middleware as one tower layer, installed on every route.
//!
//! Per request, outermost first: [`correlation`] begins (ID, span), [`admission`](super::admission)
//! runs its steps (rate limit, edge priority, deadline, body limit) and the handler is called;
//! the handler's future then runs under [`panic`](mod@super::panic) isolation and the request's
//! deadline; [`http_metrics`](super::http_metrics) count the answer, and correlation finishes it
//! (standard error format, ID header, access log line). axum's `DefaultBodyLimit` is applied here
//! too, inside the layer, rather than as a layer of its own (each router layer boxes and clones
//! per request).
//!
//! The layer makes one service per route. On its route's first request it looks up what does
//! not change from one request to the next — the route template, its [`RouteClass`] and its
//! metric series — and keeps it.
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
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use super::admission::Admission;
use super::edge::RouteClass;
use super::http_metrics::{RouteMetrics, UNMATCHED};
use super::{ApiError, correlation, deadline, panic};

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
    type Service = Gateway<<DefaultBodyLimit as Layer<S>>::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        let body_limit = DefaultBodyLimit::max(self.admission.body_limit.bytes());
        Gateway {
            inner: body_limit.layer(inner),
            admission: Arc::clone(&self.admission),
            route: Arc::default(),
        }
    }
}

/// What a route's service keeps from its first request.
#[derive(Debug)]
struct Route {
    class: RouteClass,
    metrics: RouteMetrics,
}

/// A route service's [`Route`], looked up once.
#[derive(Debug, Default)]
struct RouteCache(OnceLock<Arc<Route>>);

impl RouteCache {
    fn of(&self, req: &Request) -> Arc<Route> {
        let template = req
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED, MatchedPath::as_str);
        match self.0.get() {
            // A route's service serves one template; the check keeps any other one correct.
            Some(route) if route.metrics.template() == template => Arc::clone(route),
            _ => {
                let route = Arc::new(Route {
                    class: RouteClass::of(req.extensions()),
                    metrics: RouteMetrics::of(template),
                });
                let _ = self.0.set(Arc::clone(&route));
                route
            }
        }
    }
}

/// A route's service behind the gateway's middleware.
#[derive(Debug, Clone)]
pub struct Gateway<S> {
    inner: S,
    admission: Arc<Admission>,
    route: Arc<RouteCache>,
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
        let started = Instant::now();
        let route = self.route.of(&req);
        let correlated = correlation::begin(&mut req, started);
        let id = correlated.id().clone();
        let span = correlated.span().clone();
        // The handler is called only once admitted; a panic while it builds its future is
        // caught like one while it runs.
        let handler = self.admission.admit(route.class, &mut req).map(|admitted| {
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
            route.metrics.record(&response, started);
            Ok(correlated.finish(response))
        };
        Box::pin(work.instrument(span))
    }
}
