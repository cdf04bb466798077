//! The whole service, assembled from a [`Config`]: one runtime, the pipelines started on it and
//! their dependencies' roles declared, the config's policy overrides applied, and the gateway's
//! state and router. `bulwark serve` serves it; the demo, the chaos runner and the end-to-end
//! tests start exactly the same thing.

use axum::Router;
use bulwark_runtime::runtime::{Runtime, RuntimeError};

use crate::auth::service::AuthReadiness;
use crate::auth::{AuthService, routes as auth_routes};
use crate::config::Config;
use crate::gateway::{self, AppState, Readiness, Role};
use crate::overrides::{self, OverrideError};

/// The service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The runtime could not be built.
    #[error("runtime")]
    Runtime(#[from] RuntimeError),
    /// The auth pipeline could not start.
    #[error("auth pipeline")]
    Auth(#[from] crate::auth::service::AuthStartError),
    /// A `[dependencies]` override could not be applied.
    #[error("dependency overrides")]
    Overrides(#[from] OverrideError),
}

/// A started service.
#[derive(Debug)]
pub struct Service {
    /// The runtime every pipeline registered its dependencies on.
    pub runtime: Runtime,
    /// The gateway's shared state.
    pub state: AppState,
    /// The application: every route with the gateway's middleware.
    pub router: Router,
    /// The auth pipeline.
    pub auth: AuthService,
}

impl Service {
    /// Starts every pipeline of `config` on a new runtime. The data directory must exist.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let runtime = Runtime::builder().build().await?;
        let readiness = Readiness::default();

        let auth = AuthService::builder(config.auth.clone())
            .data_dir(&config.data_dir)
            .start(&runtime)
            .await?;
        // Logins fall back to cached credentials and validation needs no store: the stores are
        // covered. Hashing has no fallback.
        for name in runtime.dependency_names() {
            if name.starts_with("auth.store.") {
                readiness.declare(name, Role::COVERED);
            }
        }
        readiness.declare(crate::auth::hasher::HASHER_DEPENDENCY, Role::CRITICAL);
        let health = auth.clone();
        readiness.check("auth", move || {
            let health = health.health();
            (health.readiness == AuthReadiness::Degraded).then(|| {
                format!(
                    "user store unavailable (reads: {}, writes: {}): logins from cached \
                     credentials, tokens grant read only, registration refused",
                    if health.can_read { "ok" } else { "down" },
                    if health.can_write { "ok" } else { "down" },
                )
            })
        });

        overrides::apply(&runtime, &config.dependencies).await?;

        let state = AppState::builder(config.server.clone(), runtime.clone())
            .readiness(readiness)
            .openapi(<auth_routes::AuthApi as utoipa::OpenApi>::openapi())
            .build();
        let routes = gateway::app::routes().merge(auth_routes::routes(auth.clone()));
        let router = gateway::build(routes, state.clone());
        Ok(Self {
            runtime,
            state,
            router,
            auth,
        })
    }

    /// Stops every actor.
    pub async fn shutdown(&self) {
        self.runtime.shutdown().await;
    }
}
