//! The whole service, assembled from a [`Config`]: one runtime, the pipelines started on it and
//! their dependencies' roles declared, the config's policy overrides applied, and the gateway's
//! state and router. `bulwark serve` serves it; the demo, the chaos runner and the end-to-end
//! tests start exactly the same thing.

use axum::Router;
use bulwark_runtime::chaos::FaultControl;
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
use crate::responses::provider::PROVIDER_POOL;
use crate::responses::{ResponseService, routes as response_routes};
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
    /// The response pipeline could not start.
    #[error("response pipeline")]
    Responses(#[from] crate::responses::ResponseStartError),
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
    /// The response pipeline.
    pub responses: ResponseService,
    /// The durable sentiment job queue.
    pub jobs: JobQueue,
    /// The NATS adapter, when `[nats] url` is set.
    pub nats: Option<NatsAdapter>,
    /// How long a stop waits for NATS requests and jobs in flight.
    drain_timeout: std::time::Duration,
}

/// What a chaos experiment may do to a started service besides what its config says.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Hooks {
    /// Wraps the auth user stores in the runtime's fault injector under this control.
    pub store_faults: Option<FaultControl>,
}

impl Hooks {
    /// Hooks that let `control` break the auth user stores.
    pub fn store_faults(control: FaultControl) -> Self {
        Self {
            store_faults: Some(control),
        }
    }
}

impl Service {
    /// Starts every pipeline of `config` on a new runtime. The data directory must exist.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        Self::start_with(config, Hooks::default()).await
    }

    /// [`start`](Self::start), with chaos `hooks`.
    pub async fn start_with(config: &Config, hooks: Hooks) -> Result<Self, StartError> {
        let runtime = Runtime::builder().build().await?;
        let readiness = Readiness::default();

        let mut auth = AuthService::builder(config.auth.clone()).data_dir(&config.data_dir);
        if let Some(control) = hooks.store_faults {
            auth = auth.store_faults(control);
        }
        let auth = auth.start(&runtime).await?;
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

        // Provider outages are covered by the templates; a provider refusing our key shows as
        // not ready in its own entry and is named in a note (it opens no breaker).
        let responses = ResponseService::builder(config.response.clone(), sentiment.clone())
            .start(&runtime)
            .await?;
        if responses.has_providers() {
            readiness.declare(PROVIDER_POOL, Role::COVERED);
        }
        let note = responses.clone();
        let clock = runtime.clock().clone();
        readiness.check("responses", move || note.readiness_note(clock.now()));

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
                    responses: responses.clone(),
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
            .openapi(<response_routes::ResponsesApi as utoipa::OpenApi>::openapi())
            .openapi(<job_routes::JobsApi as utoipa::OpenApi>::openapi())
            .build();
        let routes = gateway::app::routes()
            .merge(auth_routes::routes(auth.clone()))
            .merge(sentiment_routes::routes(sentiment.clone()))
            .merge(embeddings_routes::routes(embeddings.clone()))
            .merge(response_routes::routes(responses.clone()))
            .merge(job_routes::routes(jobs.clone()));
        let router = gateway::build(routes, state.clone());
        Ok(Self {
            runtime,
            state,
            router,
            auth,
            sentiment,
            embeddings,
            responses,
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
