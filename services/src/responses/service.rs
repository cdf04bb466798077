//! [`ResponseService`]: the response pipeline — sentiment step, cache, provider pool, template
//! fallback — behind one cloneable handle.
//!
//! A call:
//! 1. the message is checked, its intent detected by keywords and its sentiment asked of the
//!    [`SentimentService`] (which never fails because of its model);
//! 2. the cache answers a message a provider answered recently (unless the request says
//!    `"cache": false`);
//! 3. the provider pool is asked under the caller's deadline less `fallback_reserve`: providers
//!    in order, an open circuit skipped at once, a failure moved to the next provider, hedged
//!    when configured (see `bulwark_runtime::pool`);
//! 4. when no provider answered — none configured, every circuit open, every one failed, the
//!    deadline — the template of the intent and sentiment answers, `degraded: true`,
//!    `provider: "template"`. The cause is logged; the caller gets a 200.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::clock::Moment;
use bulwark_runtime::dependency::{CallContext, metric_names};
use bulwark_runtime::error::chain;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::pool::{Pool, PoolError, PoolSnapshot};
use bulwark_runtime::runtime::Runtime;
use serde::Serialize;

use super::config::ResponseConfig;
use super::error::{ResponseError, ResponseStartError};
use super::input::ResponseRequest;
use super::intent::{self, Intent};
use super::prompt;
use super::provider::{
    Generation, PROVIDER_POOL, Prompt, Provider, ProviderPool, ProviderRequest, TokenStream,
};
use super::templates::{Fill, Templates};
use super::usage;
use crate::gateway::readiness::UNAUTHORIZED_HOLD;
use crate::sentiment::SentimentService;
use crate::sentiment::analyzer::Label;
use crate::sentiment::cache::{ResultCache, normalise};
use crate::upstream::{PoolStartError, attempt_policy, with_reserve};

/// The `provider` of a template answer.
pub const TEMPLATE: &str = "template";

/// The sentiment of the message, as the answer shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SentimentSummary {
    /// The class.
    pub label: Label,
    /// Confidence in the class, in `[0, 1]`.
    pub score: f64,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    /// The text for the customer.
    pub text: String,
    /// The provider that wrote it, or `"template"`.
    pub provider: String,
    /// `true` when the template answered.
    pub degraded: bool,
    /// `true` when the text was remembered from an earlier answer to the same message.
    pub cached: bool,
    /// The message's sentiment.
    pub sentiment: SentimentSummary,
    /// The message's intent.
    pub intent: Intent,
}

/// A provider answer remembered for a message.
#[derive(Debug, Clone)]
struct Remembered {
    text: Arc<str>,
    provider: Arc<str>,
}

/// A streamed response: a provider's live stream, or a whole answer (the template, a cached
/// answer) sent as one event.
#[derive(Debug)]
pub enum ReplyStream {
    /// A whole answer.
    Whole(Reply),
    /// A provider's stream, its first token arrived.
    Live(Box<LiveReply>),
}

/// A provider's stream and what the final answer will say besides its text.
#[derive(Debug)]
pub struct LiveReply {
    /// The stream.
    pub tokens: Box<TokenStream>,
    /// The answer without its text (filled as the stream goes).
    pub reply: Reply,
    remember: Option<(ResultCache<Remembered>, String)>,
}

impl LiveReply {
    /// The answer once the stream ended: its text is the pieces relayed, and it is remembered
    /// for the same message.
    pub fn finish(mut self, text: String) -> Reply {
        if let Some((cache, key)) = self.remember.take() {
            cache.insert(
                key,
                Remembered {
                    text: Arc::from(text.as_str()),
                    provider: Arc::from(self.reply.provider.as_str()),
                },
            );
        }
        self.reply.text = text;
        self.reply
    }
}

struct Inner {
    sentiment: SentimentService,
    pool: Option<ProviderPool>,
    templates: Templates,
    cache: ResultCache<Remembered>,
    reserve: Duration,
}

/// The response pipeline. Cheap to clone; every clone shares the pool and the cache.
#[derive(Clone)]
pub struct ResponseService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ResponseService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseService")
            .field("pool", &self.inner.pool)
            .field("cached", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

/// Configures and starts a [`ResponseService`].
#[must_use]
#[derive(Debug)]
pub struct ResponseServiceBuilder {
    config: ResponseConfig,
    policy: Policy,
    sentiment: SentimentService,
}

impl ResponseServiceBuilder {
    /// The guard policy of the pool and of every provider (breaker, bulkhead, retries across
    /// providers, `timeout.total` for calls without a deadline); each provider's `timeout_ms`
    /// replaces its attempt and read timeouts. Default: the seed policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Validates the settings, loads the templates and registers the providers (each one its
    /// own tier, so they are tried in order) on `runtime`.
    pub async fn start(self, runtime: &Runtime) -> Result<ResponseService, ResponseStartError> {
        let config = self.config;
        config.validate()?;
        let templates = match &config.templates {
            Some(path) => Templates::load(path)?,
            None => Templates::built_in()?,
        };
        usage::describe();
        let pool = if config.providers.is_empty() {
            None
        } else {
            let mut builder = Pool::builder(PROVIDER_POOL).policy(self.policy.clone());
            for (index, provider) in config.providers.iter().enumerate() {
                let own = attempt_policy(&provider.name, &provider.endpoint(index), &self.policy)?;
                let dependency = Provider::new(provider, index, config.max_tokens, &own.timeout)?;
                builder = builder
                    .endpoint_with_policy(provider.name.clone(), dependency, own)
                    .next_tier();
            }
            if let Some(hedging) = &config.hedging {
                builder = builder.hedging(hedging.hedging());
            }
            Some(builder.build(runtime).await.map_err(PoolStartError::from)?)
        };
        Ok(ResponseService {
            inner: Arc::new(Inner {
                sentiment: self.sentiment,
                pool,
                templates,
                cache: ResultCache::new(config.cache_capacity, config.cache_ttl),
                reserve: config.fallback_reserve,
            }),
        })
    }
}

/// What a request becomes before any provider is asked.
struct Prepared {
    prompt: Arc<Prompt>,
    reply: Reply,
    customer: Option<String>,
    cache_key: Option<String>,
}

impl ResponseService {
    /// A builder for these settings, whose sentiment step is `sentiment`.
    pub fn builder(config: ResponseConfig, sentiment: SentimentService) -> ResponseServiceBuilder {
        ResponseServiceBuilder {
            config,
            policy: Policy::default(),
            sentiment,
        }
    }

    /// The response to `request` ([`ResponseError::Invalid`] naming each bad field). Never
    /// fails because of the providers: the template answers then.
    pub async fn respond(
        &self,
        ctx: &CallContext,
        request: &ResponseRequest,
    ) -> Result<Reply, ResponseError> {
        let prepared = self.prepare(ctx, request).await?;
        if let Some(hit) = self.lookup(&prepared) {
            return Ok(hit);
        }
        match self.ask(ctx, &prepared, false).await {
            Some(Generation::Complete { provider, text, .. }) => {
                Ok(self.answered(prepared, &provider, text))
            }
            Some(Generation::Stream(mut tokens)) => {
                // Not asked for; read it whole rather than drop an answer.
                let mut text = String::new();
                while let Some(piece) = tokens.next().await {
                    match piece {
                        Ok(piece) => text.push_str(&piece),
                        Err(err) => {
                            self.log_failure(ctx, &err);
                            return Ok(self.template(prepared));
                        }
                    }
                }
                let provider = tokens.provider().to_owned();
                Ok(self.answered(prepared, &provider, text))
            }
            None => Ok(self.template(prepared)),
        }
    }

    /// The response to `request`, streamed when a provider answers (see [`ReplyStream`]). A
    /// provider that fails before its first token fails over like any failed call.
    pub async fn respond_stream(
        &self,
        ctx: &CallContext,
        request: &ResponseRequest,
    ) -> Result<ReplyStream, ResponseError> {
        let prepared = self.prepare(ctx, request).await?;
        if let Some(hit) = self.lookup(&prepared) {
            return Ok(ReplyStream::Whole(hit));
        }
        Ok(match self.ask(ctx, &prepared, true).await {
            Some(Generation::Stream(tokens)) => {
                let mut reply = prepared.reply;
                tokens.provider().clone_into(&mut reply.provider);
                ReplyStream::Live(Box::new(LiveReply {
                    tokens,
                    reply,
                    remember: prepared
                        .cache_key
                        .map(|key| (self.inner.cache.clone(), key)),
                }))
            }
            Some(Generation::Complete { provider, text, .. }) => {
                ReplyStream::Whole(self.answered(prepared, &provider, text))
            }
            None => ReplyStream::Whole(self.template(prepared)),
        })
    }

    /// Whether providers are configured.
    pub fn has_providers(&self) -> bool {
        self.inner.pool.is_some()
    }

    /// The provider pool, if providers are configured.
    pub fn pool(&self) -> Option<&ProviderPool> {
        self.inner.pool.as_ref()
    }

    /// The provider pool's state (`None` without providers).
    pub fn pool_snapshot(&self) -> Option<PoolSnapshot> {
        self.inner.pool.as_ref().map(ProviderPool::snapshot)
    }

    /// Why the pipeline serves degraded, for readiness at `now` (the runtime's clock): no
    /// provider configured, or providers that refused our API key (401/403) in the last
    /// [`UNAUTHORIZED_HOLD`], named (they are skipped and open no breaker, so no circuit shows
    /// it). An outage of configured providers shows through their circuits.
    pub fn readiness_note(&self, now: Moment) -> Option<String> {
        let Some(pool) = &self.inner.pool else {
            return Some("no provider configured: templates answer (degraded)".to_owned());
        };
        let refusing: Vec<&str> = pool
            .endpoints()
            .filter(|(_, handle)| {
                handle
                    .snapshot()
                    .unauthorized
                    .last_at_nanos
                    .is_some_and(|at| {
                        now.saturating_duration_since(Moment::from_nanos(at)) < UNAUTHORIZED_HOLD
                    })
            })
            .map(|(name, _)| name)
            .collect();
        (!refusing.is_empty()).then(|| {
            format!(
                "provider(s) refusing our API key (401/403), skipped: {}",
                refusing.join(", ")
            )
        })
    }

    /// Answers the cache holds (approximate).
    pub fn cached(&self) -> u64 {
        self.inner.cache.len()
    }

    async fn prepare(
        &self,
        ctx: &CallContext,
        request: &ResponseRequest,
    ) -> Result<Prepared, ResponseError> {
        request.check()?;
        let intent = intent::detect(&request.message);
        let sentiment = self
            .inner
            .sentiment
            .analyze(ctx, &request.message)
            .await
            .map_err(|err| match err {
                crate::sentiment::SentimentError::Invalid { details } => ResponseError::Invalid {
                    details: details
                        .into_values()
                        .map(|problem| ("message".to_owned(), problem))
                        .collect(),
                },
            })?;
        let prompt = prompt::build(
            &request.message,
            request.context.as_deref(),
            intent,
            sentiment.label,
        );
        let cache_key = request.use_cache.then(|| {
            let context = request
                .context
                .as_deref()
                .map(normalise)
                .unwrap_or_default();
            format!("{}\u{0}{context}", normalise(&request.message))
        });
        Ok(Prepared {
            prompt: Arc::new(prompt),
            reply: Reply {
                text: String::new(),
                provider: String::new(),
                degraded: false,
                cached: false,
                sentiment: SentimentSummary {
                    label: sentiment.label,
                    score: sentiment.score,
                },
                intent,
            },
            customer: request.customer_id.clone(),
            cache_key,
        })
    }

    fn lookup(&self, prepared: &Prepared) -> Option<Reply> {
        let hit = self.inner.cache.get(prepared.cache_key.as_deref()?)?;
        Some(Reply {
            text: hit.text.to_string(),
            provider: hit.provider.to_string(),
            cached: true,
            ..prepared.reply.clone()
        })
    }

    /// The pool's answer, or `None` (logged) when no provider answered.
    async fn ask(
        &self,
        ctx: &CallContext,
        prepared: &Prepared,
        stream: bool,
    ) -> Option<Generation> {
        let pool = self.inner.pool.as_ref()?;
        let Some(inner) = with_reserve(ctx, self.inner.reserve) else {
            tracing::warn!(
                correlation_id = %ctx.correlation_id(),
                reserve_ms = self.inner.reserve.as_millis() as u64,
                "no time left for a provider before the deadline; template fallback"
            );
            return None;
        };
        let request = ProviderRequest {
            prompt: Arc::clone(&prepared.prompt),
            stream,
        };
        match pool.call(request, inner.idempotent(true)).await {
            Ok(generation) => Some(generation),
            Err(err) => {
                self.log_failure(ctx, &err);
                None
            }
        }
    }

    fn log_failure(&self, ctx: &CallContext, err: &(dyn std::error::Error + 'static)) {
        // Nothing was sent (every circuit open): the transitions are logged and readiness shows
        // them, so each refusal is only a debug line.
        if matches!(
            err.downcast_ref::<PoolError>(),
            Some(PoolError::Unavailable { last: None, .. })
        ) {
            tracing::debug!(
                correlation_id = %ctx.correlation_id(),
                error = %chain(err),
                "no response provider available; template fallback"
            );
        } else {
            tracing::warn!(
                correlation_id = %ctx.correlation_id(),
                error = %chain(err),
                "response providers failed; template fallback"
            );
        }
    }

    fn answered(&self, prepared: Prepared, provider: &str, text: String) -> Reply {
        if let Some(key) = prepared.cache_key {
            self.inner.cache.insert(
                key,
                Remembered {
                    text: Arc::from(text.as_str()),
                    provider: Arc::from(provider),
                },
            );
        }
        Reply {
            text,
            provider: provider.to_owned(),
            ..prepared.reply
        }
    }

    fn template(&self, prepared: Prepared) -> Reply {
        metrics::counter!(
            metric_names::FALLBACKS_TOTAL,
            "dependency" => PROVIDER_POOL,
            "source" => TEMPLATE
        )
        .increment(1);
        let text = self.inner.templates.render(
            prepared.reply.sentiment.label,
            Fill {
                customer: prepared.customer.as_deref(),
                intent: prepared.reply.intent,
            },
        );
        Reply {
            text,
            provider: TEMPLATE.to_owned(),
            degraded: true,
            ..prepared.reply
        }
    }
}
