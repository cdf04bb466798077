//! Health: `GET /livez` (the process and its actor system are alive) and `GET /readyz` (the
//! service can do its job: see [`readiness`](super::readiness)).
//!
//! Both are critical routes (see [`edge`](super::edge)): they keep answering while the other
//! routes are overloaded. Non-2xx answers are the standard error JSON; `/readyz`'s 503 also lists
//! every dependency under `dependencies`, like its 200.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::respond_with;
use super::extract::{Correlation, NoQuery};
use super::readiness::ReadinessReport;
use super::{ApiError, AppState};

/// How long `/livez` waits for the root supervisor to answer.
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The body of a successful `/livez`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Health {
    /// `"ok"`.
    pub status: &'static str,
}

/// `GET /livez`: 200 while the root supervisor answers, else 503.
#[utoipa::path(
    get,
    path = "/livez",
    tag = "operations",
    responses((status = 200, description = "The process and its actor system are alive", body = Health))
)]
pub async fn livez(
    State(state): State<AppState>,
    Correlation(id): Correlation,
    _: NoQuery,
) -> Result<Json<Health>, ApiError> {
    let supervision = state.runtime().supervision();
    match tokio::time::timeout(LIVENESS_TIMEOUT, supervision.snapshot()).await {
        Ok(Some(_)) => Ok(Json(Health { status: "ok" })),
        _ => Err(ApiError::new(
            ServiceError::Dependency {
                message: "The actor system does not answer".to_owned(),
                failure: DependencyFailure::Unavailable,
                details: Default::default(),
                retry_after: None,
                source: None,
            },
            id,
        )),
    }
}

/// `GET /readyz`: 200 when every critical dependency is usable or covered by a fallback (the
/// body says `ready` or `degraded`), else 503.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready (possibly degraded)", body = ReadinessReport),
        (status = 503, description = "A critical dependency is unusable and not covered: the standard error, plus `dependencies`", body = bulwark_runtime::error::ErrorResponse),
    )
)]
pub async fn readyz(
    State(state): State<AppState>,
    Correlation(id): Correlation,
    _: NoQuery,
) -> Response {
    let runtime = state.runtime();
    let snapshot = runtime.snapshot().await;
    let report = state
        .readiness()
        .evaluate(&snapshot.dependencies, runtime.clock().now());
    if report.ready {
        return (StatusCode::OK, Json(report)).into_response();
    }
    let unusable: Vec<&str> = report
        .dependencies
        .iter()
        .filter(|d| d.critical && !d.covered_by_fallback && !d.ready)
        .map(|d| d.name.as_str())
        .collect();
    let error = ServiceError::Dependency {
        message: "Not ready: a critical dependency is unavailable".to_owned(),
        failure: DependencyFailure::Unavailable,
        details: unusable
            .iter()
            .map(|name| ((*name).to_owned(), "unavailable, no fallback".to_owned()))
            .collect(),
        retry_after: Some(Duration::from_secs(5)),
        source: None,
    };
    let extra = serde_json::json!({ "dependencies": report.dependencies });
    respond_with(&error, &id, extra)
}
