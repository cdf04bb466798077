//! Liveness: `GET /livez` answers 200 `{"status":"ok"}` while the process serves requests.
//!
//! Readiness (`/readyz`, whether critical dependencies are usable) belongs to the pipelines and
//! comes with them.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/livez", get(livez))
}

/// The body of a health answer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Health {
    /// `"ok"`.
    pub status: &'static str,
}

/// `GET /livez`.
pub async fn livez() -> Json<Health> {
    Json(Health { status: "ok" })
}
