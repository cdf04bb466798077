//! The application: routes plus the middleware every request passes.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;

use super::{GatewayConfig, correlation, fallback, health, limits, panic};

/// What handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    config: Arc<GatewayConfig>,
}

impl AppState {
    /// State for a gateway with these settings.
    pub fn new(config: GatewayConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// The gateway settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }
}

/// The Bulwark application: every route and all middleware.
pub fn app(state: AppState) -> Router {
    build(routes(), state)
}

/// Every route of the product, without middleware.
pub fn routes() -> Router<AppState> {
    Router::new().merge(health::routes())
}

/// Wraps `routes` in the gateway's fallbacks and middleware (correlation, panic catching, body
/// limit, 404/405 in the standard format). [`app`] is `build(routes(), state)`; tests and embedders
/// use it to serve extra routes with exactly the same behaviour.
pub fn build(routes: Router<AppState>, state: AppState) -> Router {
    let body_limit = state.config().body_limit;
    routes
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            limits::BodyLimit::new(body_limit),
            limits::enforce,
        ))
        .layer(middleware::from_fn(panic::catch_panic))
        .layer(middleware::from_fn(correlation::correlate))
        .with_state(state)
}
