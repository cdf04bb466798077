//! [`SentimentService`]: the synchronous sentiment pipeline — cache, model pool, rule-based
//! fallback — behind one cloneable handle.
//!
//! A call, for each text:
//! 1. the [`ResultCache`] answers a text the model labelled recently (`source: "cache"`);
//! 2. the other texts (each distinct normalised text once) go to the model pool in batches of
//!    `batch_size` — one request per batch, [`BATCHES_IN_FLIGHT`] at a time — under the caller's
//!    deadline less `fallback_reserve`, so a slow model still leaves time for the fallback;
//! 3. whatever the model did not label — no endpoint configured, every circuit open, a failure,
//!    the deadline, an answer that cannot be read — the rule-based analyzer labels, marked
//!    `degraded: true` (`source: "rule_based"`). The cause is logged; the caller gets a 200.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::dependency::{CallContext, metric_names};
use bulwark_runtime::error::chain;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::pool::{PoolError, PoolSnapshot};
use bulwark_runtime::runtime::Runtime;
use futures::StreamExt;
use serde::Serialize;

use super::analyzer::{Analysis, Analyzer, AnalyzerConfig, Label};
use super::cache::{CachedAnswer, ResultCache, normalise};
use super::config::SentimentConfig;
use super::error::{SentimentError, SentimentStartError};
use super::input::{check_text, check_texts};
use super::labels::LabelTable;
use super::model::{ClassifyRequest, MODEL_POOL, ModelPool};
use crate::upstream::{build_pool, exact_url, with_reserve};

/// Model requests one call keeps in flight at once (a batch of 256 texts at the default
/// `batch_size` of 32 is 8 requests: two waves), so one large call does not fill the endpoints'
/// bulkheads for everyone else.
pub const BATCHES_IN_FLIGHT: usize = 4;

/// Where an answer came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A model endpoint, just now.
    Model,
    /// The rule-based analyzer (the fallback).
    RuleBased,
    /// A model answer remembered for the same text.
    Cache,
}

impl Source {
    /// `"model"`, `"rule_based"` or `"cache"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::RuleBased => "rule_based",
            Self::Cache => "cache",
        }
    }
}

/// The sentiment of one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sentiment {
    /// The class.
    pub label: Label,
    /// Confidence in the class, in `[0, 1]`: the model's probability of it; for the rule-based
    /// analyzer `|compound|` for positive and negative, `1 - |compound|` for neutral.
    pub score: f64,
    /// Where the answer came from.
    pub source: Source,
    /// `true` when a fallback answered (the model could not, or none is configured).
    pub degraded: bool,
}

impl Sentiment {
    /// The rule-based analyzer's answer as the pipeline's: confidence `|compound|` for positive
    /// and negative, `1 - |compound|` for neutral; degraded, as every fallback answer.
    pub fn rule_based(analysis: &Analysis) -> Self {
        let strength = analysis.compound.abs().clamp(0.0, 1.0);
        let score = match analysis.label {
            Label::Neutral => 1.0 - strength,
            Label::Positive | Label::Negative => strength,
        };
        Self {
            label: analysis.label,
            score,
            source: Source::RuleBased,
            degraded: true,
        }
    }
}

struct Inner {
    analyzer: Analyzer,
    labels: LabelTable,
    cache: ResultCache,
    pool: Option<ModelPool>,
    batch_size: usize,
    reserve: Duration,
}

/// The sentiment pipeline. Cheap to clone; every clone shares the pool and the cache.
#[derive(Clone)]
pub struct SentimentService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SentimentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentimentService")
            .field("pool", &self.inner.pool)
            .field("batch_size", &self.inner.batch_size)
            .field("cached", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

/// Configures and starts a [`SentimentService`].
#[must_use]
#[derive(Debug)]
pub struct SentimentServiceBuilder {
    config: SentimentConfig,
    policy: Policy,
}

impl SentimentServiceBuilder {
    /// The guard policy of the pool and of every endpoint (breaker, bulkhead, retries across
    /// endpoints, `timeout.total` for calls without a deadline); each endpoint's `timeout_ms`
    /// replaces its attempt and read timeouts. Default: the seed policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Validates the settings and registers the model pool (when endpoints are configured) on
    /// `runtime`.
    pub async fn start(self, runtime: &Runtime) -> Result<SentimentService, SentimentStartError> {
        let config = self.config;
        config.validate()?;
        let analyzer_config = AnalyzerConfig::new()
            .with_neutral_band(config.neutral_band)
            .unwrap_or_default();
        let pool = if config.endpoints.is_empty() {
            None
        } else {
            Some(
                build_pool(
                    runtime,
                    MODEL_POOL,
                    &config.endpoints,
                    &self.policy,
                    exact_url,
                )
                .await?,
            )
        };
        Ok(SentimentService {
            inner: Arc::new(Inner {
                analyzer: Analyzer::new(analyzer_config),
                labels: LabelTable::new(&config.labels),
                cache: ResultCache::new(config.cache_capacity, config.cache_ttl),
                pool,
                batch_size: config.batch_size,
                reserve: config.fallback_reserve,
            }),
        })
    }
}

impl SentimentService {
    /// A builder for these settings.
    pub fn builder(config: SentimentConfig) -> SentimentServiceBuilder {
        SentimentServiceBuilder {
            config,
            policy: Policy::default(),
        }
    }

    /// The sentiment of `text` (1 to 10,000 characters after trimming, else
    /// [`SentimentError::Invalid`] naming `text`). Never fails because of the model.
    pub async fn analyze(
        &self,
        ctx: &CallContext,
        text: &str,
    ) -> Result<Sentiment, SentimentError> {
        check_text("text", text).map_err(|details| SentimentError::Invalid { details })?;
        let answers = self.inner.run(ctx, &[text]).await;
        Ok(answers
            .into_iter()
            .next()
            .unwrap_or_else(|| self.inner.rule_based(text)))
    }

    /// The sentiment of each of `texts` (1 to 256, each 1 to 10,000 characters after trimming,
    /// else [`SentimentError::Invalid`] naming `texts` or every bad `texts[i]`), in order.
    /// Model calls are batched; never fails because of the model.
    pub async fn analyze_batch(
        &self,
        ctx: &CallContext,
        texts: &[String],
    ) -> Result<Vec<Sentiment>, SentimentError> {
        check_texts("texts", texts).map_err(|details| SentimentError::Invalid { details })?;
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(self.inner.run(ctx, &texts).await)
    }

    /// Whether model endpoints are configured.
    pub fn has_model(&self) -> bool {
        self.inner.pool.is_some()
    }

    /// The model pool's state (`None` without endpoints).
    pub fn pool_snapshot(&self) -> Option<PoolSnapshot> {
        self.inner.pool.as_ref().map(ModelPool::snapshot)
    }

    /// The model pool, if endpoints are configured.
    pub fn pool(&self) -> Option<&ModelPool> {
        self.inner.pool.as_ref()
    }

    /// Why the pipeline serves degraded by design, for readiness: `Some` when no model endpoint
    /// is configured. (An outage of configured endpoints shows through their circuits.)
    pub fn readiness_note(&self) -> Option<String> {
        self.inner.pool.is_none().then(|| {
            "no model endpoint configured: the rule-based analyzer answers (degraded)".to_owned()
        })
    }

    /// Texts the cache holds (approximate).
    pub fn cached(&self) -> u64 {
        self.inner.cache.len()
    }
}

impl Inner {
    /// Cache, then model, then rule-based, for texts already checked.
    async fn run(&self, ctx: &CallContext, texts: &[&str]) -> Vec<Sentiment> {
        let keys: Vec<String> = texts.iter().map(|t| normalise(t)).collect();
        let mut answers: Vec<Option<Sentiment>> = keys
            .iter()
            .map(|key| {
                self.cache.get(key).map(|hit| Sentiment {
                    label: hit.label,
                    score: hit.score,
                    source: Source::Cache,
                    degraded: false,
                })
            })
            .collect();
        // Each distinct missing text once, in first-seen order.
        let mut unique: Vec<String> = Vec::new();
        let mut slot: HashMap<&str, usize> = HashMap::new();
        let mut slots: Vec<Option<usize>> = vec![None; keys.len()];
        for (i, key) in keys.iter().enumerate() {
            if answers[i].is_none() {
                let next = unique.len();
                let at = *slot.entry(key.as_str()).or_insert(next);
                if at == next {
                    unique.push(key.clone());
                }
                slots[i] = Some(at);
            }
        }
        let labelled = self.ask_model(ctx, unique).await;
        let mut fallbacks = 0u64;
        let out = answers
            .iter_mut()
            .zip(slots)
            .zip(&keys)
            .map(|((answer, slot), key)| {
                if let Some(done) = answer.take() {
                    return done;
                }
                match slot.and_then(|s| labelled.get(s).copied().flatten()) {
                    Some((label, score)) => Sentiment {
                        label,
                        score,
                        source: Source::Model,
                        degraded: false,
                    },
                    None => {
                        fallbacks += 1;
                        self.rule_based(key)
                    }
                }
            })
            .collect();
        if fallbacks > 0 {
            metrics::counter!(
                metric_names::FALLBACKS_TOTAL,
                "dependency" => MODEL_POOL,
                "source" => Source::RuleBased.as_str()
            )
            .increment(fallbacks);
        }
        out
    }

    /// The model's class for each of `texts` (`None` where it gave none), batch by batch.
    async fn ask_model(&self, ctx: &CallContext, texts: Vec<String>) -> Vec<Option<(Label, f64)>> {
        let n = texts.len();
        if n == 0 {
            return Vec::new();
        }
        let Some(pool) = &self.pool else {
            return vec![None; n];
        };
        let Some(ctx) = with_reserve(ctx, self.reserve) else {
            tracing::warn!(
                correlation_id = %ctx.correlation_id(),
                texts = n,
                reserve_ms = self.reserve.as_millis() as u64,
                "no time left for the sentiment model before the deadline; rule-based fallback"
            );
            return vec![None; n];
        };
        let mut batches: Vec<Arc<[String]>> = Vec::with_capacity(n.div_ceil(self.batch_size));
        let mut rest = texts.into_iter();
        loop {
            let batch: Vec<String> = rest.by_ref().take(self.batch_size).collect();
            if batch.is_empty() {
                break;
            }
            batches.push(Arc::from(batch));
        }
        let calls = batches
            .into_iter()
            .map(|batch| self.classify(pool, batch, ctx.clone()));
        futures::stream::iter(calls)
            .buffered(BATCHES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// One model request for `texts`; the answers it could read are cached.
    async fn classify(
        &self,
        pool: &ModelPool,
        texts: Arc<[String]>,
        ctx: CallContext,
    ) -> Vec<Option<(Label, f64)>> {
        let n = texts.len();
        let id = ctx.correlation_id().clone();
        let request = ClassifyRequest {
            inputs: Arc::clone(&texts),
        };
        let lists = match pool.call(request, ctx).await {
            Ok(lists) => lists,
            // Nothing was sent (every circuit open, every bulkhead full): the circuits'
            // transitions are logged and readiness shows them, so each refusal is only a debug
            // line — an outage does not flood the log with one warning per request.
            Err(err @ PoolError::Unavailable { .. }) => {
                tracing::debug!(
                    correlation_id = %id,
                    texts = n,
                    error = %chain(&err),
                    "sentiment model unavailable; rule-based fallback"
                );
                return vec![None; n];
            }
            Err(err) => {
                tracing::warn!(
                    correlation_id = %id,
                    texts = n,
                    error = %chain(&err),
                    "sentiment model failed; rule-based fallback"
                );
                return vec![None; n];
            }
        };
        if lists.len() != n {
            tracing::warn!(
                correlation_id = %id,
                texts = n,
                results = lists.len(),
                "sentiment model answered a different number of results than texts; rule-based fallback"
            );
            return vec![None; n];
        }
        let mut unreadable = 0usize;
        let answers = lists
            .iter()
            .zip(texts.iter())
            .map(|(scores, text)| {
                let answer = self.labels.resolve(scores);
                match answer {
                    Some((label, score)) => self
                        .cache
                        .insert(text.clone(), CachedAnswer { label, score }),
                    None => unreadable += 1,
                }
                answer
            })
            .collect();
        if unreadable > 0 {
            tracing::warn!(
                correlation_id = %id,
                texts = n,
                unreadable,
                "sentiment model answered labels missing from [sentiment.labels]; rule-based fallback for those texts"
            );
        }
        answers
    }

    fn rule_based(&self, text: &str) -> Sentiment {
        Sentiment::rule_based(&self.analyzer.analyze(text))
    }
}
