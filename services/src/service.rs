//! The whole service, assembled from a [`Config`]: one runtime, the pipelines started on it and
//! their dependencies' roles declared, the config's policy overrides applied, and the gateway's
//! state and router. `bulwark serve` serves it; the demo, the chaos runner and the end-to-end
//! tests start exactly the same thing.

use axum::Router;
use bulwark_runtime::runtime::{Runtime, RuntimeError};

use crate::auth::service::AuthReadiness;
use crate::auth::{AuthService, routes as auth_routes};
use crate::config::Config;
use crate::embeddings::model::EMBEDDINGS_POOL;
use crate::embeddings::{EmbeddingsService, routes as embeddings_routes};
use crate::gateway::{self, AppState, Readiness, Role};
use crate::jobs::{JobQueue, JobsStartError, routes as job_routes};
use crate::nats::{NatsAdapter, Pipelines};
use crate::overrides::{self, OverrideError};
use crate::sentiment::model::MODEL_POOL;
use crate::sentiment::{SentimentService, routes as sentiment_routes};

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
    /// The sentiment pipeline could not start.
    #[error("sentiment pipeline")]
    Sentiment(#[from] crate::sentiment::SentimentStartError),
    /// The embeddings pipeline could not start.
    #[error("embeddings pipeline")]
    Embeddings(#[from] crate::embeddings::EmbeddingsStartError),
    /// The job queue could not start.
    #[error("job queue")]
    Jobs(#[from] JobsStartError),
    /// The NATS adapter could not start.
    #[error("NATS adapter")]
    Nats(#[from] crate::nats::NatsStartError),
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
    /// The sentiment pipeline.
    pub sentiment: SentimentService,
    /// The embeddings pipeline.
    pub embeddings: EmbeddingsService,
    /// The durable sentiment job queue.
    pub jobs: JobQueue,
    /// The NATS adapter, when `[nats] url` is set.
    pub nats: Option<NatsAdapter>,
    /// How long a stop waits for NATS requests and jobs in flight.
    drain_timeout: std::time::Duration,
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

        // Model outages are covered by the rule-based analyzer, embeddings outages by the local
        // hashing embedding; with no endpoint configured, the fallback serves (degraded).
        let sentiment = SentimentService::builder(config.sentiment.clone())
            .start(&runtime)
            .await?;
        if sentiment.has_model() {
            readiness.declare(MODEL_POOL, Role::COVERED);
        }
        let note = sentiment.clone();
        readiness.check("sentiment", move || note.readiness_note());
        let embeddings = EmbeddingsService::builder(config.embeddings.clone())
            .start(&runtime)
            .await?;
        if embeddings.has_endpoints() {
            readiness.declare(EMBEDDINGS_POOL, Role::COVERED);
        }
        let note = embeddings.clone();
        readiness.check("embeddings", move || note.readiness_note());

        // Jobs are processed by the same sentiment pipeline (model pool, cache, fallback).
        let jobs_config = &config.sentiment.jobs;
        let jobs = JobQueue::start(
            &runtime,
            jobs_config,
            &config.data_dir,
            sentiment.clone(),
            None,
        )
        .await?;
        // Without its store the service still answers everything but jobs.
        readiness.declare(crate::jobs::error::STORE_DEPENDENCY, Role::OPTIONAL);
        let queue = jobs.clone();
        readiness.check("jobs", move || {
            let outstanding = queue.outstanding();
            let max = queue.config().max_queued;
            (outstanding >= max).then(|| {
                format!("job queue full ({outstanding} of {max}): new jobs are refused with 503")
            })
        });

        // Over NATS the same pipelines answer the request subjects and jobs come from JetStream.
        let nats = match &config.nats.url {
            None => None,
            Some(url) => {
                let pipelines = Pipelines {
                    sentiment: sentiment.clone(),
                    embeddings: embeddings.clone(),
                    auth: auth.clone(),
                };
                let started = NatsAdapter::start(
                    url,
                    &config.nats,
                    &runtime,
                    &pipelines,
                    jobs.clone(),
                    &readiness,
                )
                .await;
                match started {
                    Ok(adapter) => Some(adapter),
                    Err(error) => {
                        jobs.shutdown().await;
                        return Err(error.into());
                    }
                }
            }
        };

        if let Err(error) = overrides::apply(&runtime, &config.dependencies).await {
            if let Some(nats) = &nats {
                nats.shutdown(config.server.drain_timeout).await;
            }
            jobs.shutdown().await;
            return Err(error.into());
        }

        let state = AppState::builder(config.server.clone(), runtime.clone())
            .readiness(readiness)
            .openapi(<auth_routes::AuthApi as utoipa::OpenApi>::openapi())
            .openapi(<sentiment_routes::SentimentApi as utoipa::OpenApi>::openapi())
            .openapi(<embeddings_routes::EmbeddingsApi as utoipa::OpenApi>::openapi())
            .openapi(<job_routes::JobsApi as utoipa::OpenApi>::openapi())
            .build();
        let routes = gateway::app::routes()
            .merge(auth_routes::routes(auth.clone()))
            .merge(sentiment_routes::routes(sentiment.clone()))
            .merge(embeddings_routes::routes(embeddings.clone()))
            .merge(job_routes::routes(jobs.clone()));
        let router = gateway::build(routes, state.clone());
        Ok(Self {
            runtime,
            state,
            router,
            auth,
            sentiment,
            embeddings,
            jobs,
            nats,
            drain_timeout: config.server.drain_timeout,
        })
    }

    /// Stops the NATS adapter (requests and jobs in flight finish; unacked jobs go to other
    /// nodes), the job workers (jobs in flight finish, or go back to the queue for the next
    /// start), then every actor.
    pub async fn shutdown(&self) {
        if let Some(nats) = &self.nats {
            nats.shutdown(self.drain_timeout).await;
        }
        self.jobs.shutdown().await;
        self.runtime.shutdown().await;
    }
}
