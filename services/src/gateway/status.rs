//! `GET /status`: everything an operator looks at first, as JSON — every dependency's circuit
//! (state, failure and slow rates, calls in the window, refusals, recent transitions with their
//! reasons), bulkhead (in flight, queued, limits per class), retry budget and restarts; the
//! readiness verdict; the edge's free places; and the live supervision tree. The dashboard
//! (`GET /`) draws this document.

use axum::Json;
use axum::extract::State;
use bulwark_runtime::dependency::DependencySnapshot;
use bulwark_runtime::supervision::SupervisionSnapshot;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::edge::RouteClass;
use super::extract::NoQuery;
use super::readiness::ReadinessReport;

/// The body of `GET /status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusReport {
    /// The service's version.
    pub version: &'static str,
    /// Seconds since the service started.
    pub uptime_seconds: u64,
    /// The readiness verdict, as `/readyz` gives it.
    pub readiness: ReadinessReport,
    /// Every dependency: `name`, `breaker`, `bulkhead`, `actor_restarts`, `actor_alive`,
    /// `last_probe`, `unauthorized`, `recent_transitions`, `retry_budget`, `trial_permits_free`.
    #[schema(value_type = Vec<Object>)]
    pub dependencies: Vec<DependencySnapshot>,
    /// Free places at the edge per route class.
    pub edge: EdgeStatus,
    /// The supervision tree; `null` when the root supervisor did not answer in time.
    #[schema(value_type = Option<Object>)]
    pub supervision: SupervisionSnapshot,
}

/// Free places and tracked clients at the edge.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct EdgeStatus {
    /// Free places for critical routes.
    pub critical_free: usize,
    /// Free places for other routes.
    pub non_critical_free: usize,
    /// Clients the rate limiter tracks now.
    pub rate_limited_clients: usize,
}

/// `GET /status`.
#[utoipa::path(
    get,
    path = "/status",
    tag = "operations",
    responses((status = 200, description = "The service's state", body = StatusReport))
)]
pub async fn status(State(state): State<AppState>, _: NoQuery) -> Json<StatusReport> {
    let runtime = state.runtime();
    let snapshot = runtime.snapshot().await;
    let readiness = state
        .readiness()
        .evaluate(&snapshot.dependencies, runtime.clock().now());
    Json(StatusReport {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.uptime().as_secs(),
        readiness,
        dependencies: snapshot.dependencies,
        edge: EdgeStatus {
            critical_free: state.edge_concurrency().available(RouteClass::Critical),
            non_critical_free: state.edge_concurrency().available(RouteClass::NonCritical),
            rate_limited_clients: state.rate_limits().tracked_clients(),
        },
        supervision: snapshot.supervision,
    })
}
