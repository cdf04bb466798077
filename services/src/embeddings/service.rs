//! [`EmbeddingsService`]: vectors from a pool of OpenAI-compatible endpoints, or from the local
//! hashing embedding when none can answer (marked degraded; the cause is logged).
//!
//! A request is answered whole by one model — never some vectors from an endpoint and others
//! from the fallback, which would not be comparable.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::dependency::{CallContext, metric_names};
use bulwark_runtime::error::{Details, ServiceError, chain};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::pool::PoolError;
use bulwark_runtime::runtime::Runtime;
use serde::Serialize;

use super::config::EmbeddingsConfig;
use super::local::HashingEmbedder;
use super::model::{EMBEDDINGS_POOL, EmbedRequest, EmbeddingsPool, ordered};
use crate::sentiment::input::check_texts;
use crate::upstream::{InvalidEndpoint, PoolStartError, build_pool, with_reserve};

/// One vector of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Embedding {
    /// The vector.
    pub embedding: Vec<f32>,
    /// The input it belongs to.
    pub index: usize,
}

/// Vectors for every input, from one model.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Embeddings {
    /// One vector per input, in input order.
    pub data: Vec<Embedding>,
    /// The model that made them (`local-hashing-<dimension>` for the fallback).
    pub model: String,
    /// `true` when the local hashing embedding answered.
    pub degraded: bool,
}

/// A request the pipeline refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddingsError {
    /// The input is not acceptable; `details` names every offending field.
    #[error("invalid input: {}", details.keys().cloned().collect::<Vec<_>>().join(", "))]
    Invalid {
        /// Field → problem (`input`, `input[2]`, …).
        details: Details,
    },
}

impl From<EmbeddingsError> for ServiceError {
    /// 400 `VALIDATION_ERROR` with the field details.
    fn from(err: EmbeddingsError) -> Self {
        match err {
            EmbeddingsError::Invalid { details } => ServiceError::Validation {
                message: "Validation error".to_owned(),
                details,
            },
        }
    }
}

/// The embeddings pipeline could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddingsStartError {
    /// The `[embeddings]` settings are invalid.
    #[error(transparent)]
    Config(#[from] InvalidEndpoint),
    /// The endpoint pool could not be started.
    #[error("cannot start the embeddings pool")]
    Pool(#[from] PoolStartError),
}

struct Inner {
    pool: Option<EmbeddingsPool>,
    model: Arc<str>,
    local: HashingEmbedder,
    reserve: Duration,
}

/// The embeddings pipeline. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddingsService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddingsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingsService")
            .field("pool", &self.inner.pool)
            .field("model", &self.inner.model)
            .field("local", &self.inner.local)
            .finish()
    }
}

/// Configures and starts an [`EmbeddingsService`].
#[must_use]
#[derive(Debug)]
pub struct EmbeddingsServiceBuilder {
    config: EmbeddingsConfig,
    policy: Policy,
}

impl EmbeddingsServiceBuilder {
    /// The guard policy of the pool and its endpoints (each endpoint's `timeout_ms` replaces
    /// its attempt and read timeouts). Default: the seed policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Validates the settings and registers the pool (when endpoints are configured).
    pub async fn start(self, runtime: &Runtime) -> Result<EmbeddingsService, EmbeddingsStartError> {
        let config = self.config;
        config.validate()?;
        let pool = if config.endpoints.is_empty() {
            None
        } else {
            Some(
                build_pool(
                    runtime,
                    EMBEDDINGS_POOL,
                    &config.endpoints,
                    &self.policy,
                    |url| (url.as_str().to_owned(), "/embeddings".to_owned()),
                )
                .await?,
            )
        };
        Ok(EmbeddingsService {
            inner: Arc::new(Inner {
                pool,
                model: Arc::from(config.model),
                local: HashingEmbedder::new(config.dimension),
                reserve: config.fallback_reserve,
            }),
        })
    }
}

impl EmbeddingsService {
    /// A builder for these settings.
    pub fn builder(config: EmbeddingsConfig) -> EmbeddingsServiceBuilder {
        EmbeddingsServiceBuilder {
            config,
            policy: Policy::default(),
        }
    }

    /// Vectors for `input` (1 to 256 texts, each 1 to 10,000 characters after trimming, else
    /// [`EmbeddingsError::Invalid`]). Never fails because of the endpoints.
    pub async fn embed(
        &self,
        ctx: &CallContext,
        input: &[String],
    ) -> Result<Embeddings, EmbeddingsError> {
        check_texts("input", input).map_err(|details| EmbeddingsError::Invalid { details })?;
        if let Some(answer) = self.remote(ctx, input).await {
            return Ok(answer);
        }
        metrics::counter!(
            metric_names::FALLBACKS_TOTAL,
            "dependency" => EMBEDDINGS_POOL,
            "source" => "local_hashing"
        )
        .increment(1);
        Ok(self.local(input))
    }

    /// The local hashing embedding of `input`, marked degraded.
    pub fn local(&self, input: &[String]) -> Embeddings {
        let local = &self.inner.local;
        Embeddings {
            data: input
                .iter()
                .enumerate()
                .map(|(index, text)| Embedding {
                    embedding: local.embed(text),
                    index,
                })
                .collect(),
            model: local.model_name(),
            degraded: true,
        }
    }

    /// Whether endpoints are configured.
    pub fn has_endpoints(&self) -> bool {
        self.inner.pool.is_some()
    }

    /// The pool, if endpoints are configured.
    pub fn pool(&self) -> Option<&EmbeddingsPool> {
        self.inner.pool.as_ref()
    }

    /// Why the pipeline serves degraded by design, for readiness: `Some` without endpoints.
    pub fn readiness_note(&self) -> Option<String> {
        self.inner.pool.is_none().then(|| {
            "no embeddings endpoint configured: the local hashing embedding answers (degraded)"
                .to_owned()
        })
    }

    /// The endpoints' answer, or `None` (logged) when they cannot give a usable one in time.
    async fn remote(&self, ctx: &CallContext, input: &[String]) -> Option<Embeddings> {
        let pool = self.inner.pool.as_ref()?;
        let Some(ctx) = with_reserve(ctx, self.inner.reserve) else {
            tracing::warn!(
                correlation_id = %ctx.correlation_id(),
                "no time left for the embeddings endpoints; local fallback"
            );
            return None;
        };
        let id = ctx.correlation_id().clone();
        let request = EmbedRequest {
            input: Arc::from(input.to_vec()),
            model: Arc::clone(&self.inner.model),
        };
        let answer = match pool.call(request, ctx).await {
            Ok(answer) => answer,
            Err(err @ PoolError::Unavailable { .. }) => {
                // Nothing sent: the open circuits are logged and shown by readiness already.
                tracing::debug!(correlation_id = %id, error = %chain(&err), "embeddings endpoints unavailable; local fallback");
                return None;
            }
            Err(err) => {
                tracing::warn!(correlation_id = %id, error = %chain(&err), "embeddings endpoints failed; local fallback");
                return None;
            }
        };
        let model = answer
            .model
            .clone()
            .unwrap_or_else(|| self.inner.model.to_string());
        match ordered(answer, input.len()) {
            Ok(vectors) => Some(Embeddings {
                data: vectors
                    .into_iter()
                    .enumerate()
                    .map(|(index, embedding)| Embedding { embedding, index })
                    .collect(),
                model,
                degraded: false,
            }),
            Err(err) => {
                tracing::warn!(correlation_id = %id, error = %err, "embeddings endpoint answered unusable vectors; local fallback");
                None
            }
        }
    }
}
