//! The application: routes plus the middleware every request passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bulwark_runtime::runtime::Runtime;
use metrics_exporter_prometheus::PrometheusHandle;

use super::admission::Admission;
use super::deadline::DefaultTimeout;
use super::edge::priority::EdgeConcurrency;
use super::edge::rate_limit::EdgeRateLimits;
use super::layer::GatewayLayer;
use super::readiness::Readiness;
use super::{GatewayConfig, dashboard, fallback, health, limits, openapi, prometheus, status};

/// What handlers share: the settings, the runtime every pipeline registers its dependencies on,
/// readiness, the edge limits, the metrics recorder and the API document. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: GatewayConfig,
    runtime: Runtime,
    readiness: Readiness,
    concurrency: EdgeConcurrency,
    rate_limits: EdgeRateLimits,
    prometheus: PrometheusHandle,
    openapi: serde_json::Value,
    started: Instant,
}

/// Builds an [`AppState`]; pipelines add their API documents and readiness roles first.
pub struct AppStateBuilder {
    config: GatewayConfig,
    runtime: Runtime,
    readiness: Readiness,
    documents: Vec<utoipa::openapi::OpenApi>,
}

impl std::fmt::Debug for AppStateBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStateBuilder")
            .field("config", &self.config)
            .field("documents", &self.documents.len())
            .finish_non_exhaustive()
    }
}

impl AppStateBuilder {
    /// Adds a pipeline's routes to the OpenAPI document.
    pub fn openapi(mut self, document: utoipa::openapi::OpenApi) -> Self {
        self.documents.push(document);
        self
    }

    /// Uses `readiness` (where pipelines declared their dependencies' roles).
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// The state.
    pub fn build(self) -> AppState {
        let document = openapi::document(self.documents);
        let openapi = serde_json::to_value(&document).unwrap_or_default();
        AppState {
            inner: Arc::new(Inner {
                concurrency: EdgeConcurrency::new(self.config.concurrency),
                rate_limits: EdgeRateLimits::new(&self.config.rate_limit),
                config: self.config,
                runtime: self.runtime,
                readiness: self.readiness,
                prometheus: prometheus::recorder(),
                openapi,
                started: Instant::now(),
            }),
        }
    }
}

impl AppState {
    /// State for a gateway with these settings over `runtime`, with the service's own routes only.
    pub fn new(config: GatewayConfig, runtime: Runtime) -> Self {
        Self::builder(config, runtime).build()
    }

    /// A builder, for pipelines to add their documents and readiness roles.
    pub fn builder(config: GatewayConfig, runtime: Runtime) -> AppStateBuilder {
        AppStateBuilder {
            config,
            runtime,
            readiness: Readiness::default(),
            documents: Vec::new(),
        }
    }

    /// The gateway settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Declared dependency roles.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// The edge's places per route class.
    pub fn edge_concurrency(&self) -> &EdgeConcurrency {
        &self.inner.concurrency
    }

    /// The edge's rate limits.
    pub fn rate_limits(&self) -> &EdgeRateLimits {
        &self.inner.rate_limits
    }

    /// The metrics recorder.
    pub fn prometheus(&self) -> &PrometheusHandle {
        &self.inner.prometheus
    }

    /// The OpenAPI document, as JSON.
    pub fn openapi(&self) -> &serde_json::Value {
        &self.inner.openapi
    }

    /// Time since the state was built.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }
}

/// The Bulwark application: every route and all middleware.
pub fn app(state: AppState) -> Router {
    build(routes(), state)
}

/// The service's own routes (health, status, metrics, API document, the dashboard at `/`),
/// without middleware.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/status", get(status::status))
        .route("/metrics", get(prometheus::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(dashboard::routes())
}

/// Wraps `routes` in the gateway's fallbacks and middleware ([`GatewayLayer`]: correlation, HTTP
/// metrics, the admission steps, panic isolation and the deadline around the handler);
/// unknown routes and wrong methods answer 404/405 in the standard format. [`app`] is
/// `build(routes(), state)`; tests and embedders use it to serve extra routes with exactly the
/// same behaviour.
pub fn build(routes: Router<AppState>, state: AppState) -> Router {
    let config = state.config();
    let body_limit = config.body_limit;
    let timeout = DefaultTimeout(config.request_timeout);
    let admission = Admission {
        rates: state.rate_limits().clone(),
        places: state.edge_concurrency().clone(),
        timeout,
        body_limit: limits::BodyLimit::new(body_limit),
    };
    routes
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(GatewayLayer::new(admission))
        .with_state(state)
}
