//! [`Provider`]: one LLM provider as a Bulwark dependency — its own actor, breaker, bulkhead and
//! metrics — speaking either API.
//!
//! One call is one exchange with the provider. Without streaming it returns the whole answer;
//! with streaming it returns once the **first token** has arrived ([`Generation::Stream`]), so a
//! provider that fails before its first token is an ordinary failed call (the pool moves on to
//! the next provider) and the rest of the stream is read by the caller ([`TokenStream`]). A
//! failure after the first token can no longer fail over: the caller ends its own stream with an
//! error event.
//!
//! - [`openai`], [`anthropic`]: the two wire formats; [`sse`]: the event-stream decoder;
//! - [`error`]: what each failure means for the breaker and failover.

pub mod anthropic;
pub mod error;
pub mod openai;
pub mod sse;
mod stream;

use std::sync::Arc;

use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
use bulwark_runtime::http::classify::retry_after;
use bulwark_runtime::http::{HttpDependency, HttpRequest};
use bulwark_runtime::pool::Pool;
use serde_json::Value;

pub use error::{ApiError, ProviderError};
pub use stream::TokenStream;

use super::config::{ProviderConfig, ProviderKind};
use super::usage;
use crate::upstream::{PoolStartError, api_key};

/// The pool of providers; a provider is the dependency `responses.providers/<name>`.
pub const PROVIDER_POOL: &str = "responses.providers";

/// Most bytes of an error body read (the rest is not needed to know what went wrong).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What the model is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Instructions: the assistant's role, the customer's mood and topic.
    pub system: String,
    /// The customer's message.
    pub user: String,
}

/// Tokens of one answer, as the provider counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt (`prompt_tokens`, `input_tokens`).
    pub prompt: u64,
    /// Tokens generated (`completion_tokens`, `output_tokens`).
    pub completion: u64,
}

/// What one stream event means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStep {
    /// Generated text.
    Text(String),
    /// Nothing to relay (a role chunk, usage, a ping).
    Skip,
    /// The answer is complete.
    End,
}

/// One call: the prompt (shared between the attempts of one request) and whether to stream.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    /// What to ask.
    pub prompt: Arc<Prompt>,
    /// Stream the answer.
    pub stream: bool,
}

/// A provider's answer.
#[derive(Debug)]
pub enum Generation {
    /// The whole text (usage already counted).
    Complete {
        /// The provider that answered.
        provider: Arc<str>,
        /// The text.
        text: String,
        /// Its tokens.
        usage: Usage,
    },
    /// A stream whose first token has arrived.
    Stream(Box<TokenStream>),
}

/// One provider (see the [module](self) docs).
pub struct Provider {
    name: Arc<str>,
    kind: ProviderKind,
    model: Arc<str>,
    max_tokens: u32,
    http: HttpDependency<Value, Value>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's headers (the API key) are never shown.
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base", &self.http.base_url())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// The provider of `config` (its key read from the environment), with the client timeouts
    /// of `timeouts`.
    pub fn new(
        config: &ProviderConfig,
        index: usize,
        max_tokens: u32,
        timeouts: &bulwark_runtime::timeout::TimeoutPolicy,
    ) -> Result<Self, PoolStartError> {
        let endpoint = config.endpoint(index);
        let mut http = HttpDependency::builder(config.base_url.clone()).timeouts(timeouts);
        let key = api_key(&config.name, &endpoint)?;
        match config.kind {
            ProviderKind::Openai => {
                if let Some(key) = key {
                    http = http.bearer_auth(key);
                }
            }
            ProviderKind::Anthropic => {
                http = http.header("anthropic-version", anthropic::VERSION);
                if let Some(key) = key {
                    http = http.sensitive_header("x-api-key", key);
                }
            }
        }
        let http = http.build().map_err(|source| PoolStartError::Http {
            endpoint: config.name.clone(),
            source,
        })?;
        Ok(Self {
            name: Arc::from(config.name.as_str()),
            kind: config.kind,
            model: Arc::from(config.model.as_str()),
            max_tokens,
            http,
        })
    }

    /// One exchange, unclassified.
    async fn generate(
        &self,
        req: &ProviderRequest,
        ctx: &CallContext,
    ) -> Result<Generation, ProviderError> {
        let (path, body) = match self.kind {
            ProviderKind::Openai => (
                openai::PATH,
                openai::body(&req.prompt, &self.model, self.max_tokens, req.stream),
            ),
            ProviderKind::Anthropic => (
                anthropic::PATH,
                anthropic::body(&req.prompt, &self.model, self.max_tokens, req.stream),
            ),
        };
        let request = HttpRequest::post(path, body);
        let mut response = self
            .http
            .exchange(&request, ctx)
            .await
            .map_err(ProviderError::Http)?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(response.headers(), std::time::SystemTime::now());
            let mut body = Vec::new();
            // The status says what happened; a body broken off only loses the details.
            while body.len() < MAX_ERROR_BODY {
                match HttpDependency::<Value, Value>::read_chunk(&mut response, &mut body).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
            }
            return Err(ProviderError::status(status.as_u16(), wait, &body));
        }
        if req.stream {
            let stream = TokenStream::open(
                Arc::clone(&self.name),
                self.kind,
                response,
                self.http.max_response_bytes(),
            )
            .await?;
            return Ok(Generation::Stream(Box::new(stream)));
        }
        let body = self
            .http
            .read_body(&mut response)
            .await
            .map_err(ProviderError::Http)?;
        let (text, usage) = match self.kind {
            ProviderKind::Openai => openai::parse(&body)?,
            ProviderKind::Anthropic => anthropic::parse(&body)?,
        };
        usage::record(&self.name, usage);
        Ok(Generation::Complete {
            provider: Arc::clone(&self.name),
            text,
            usage,
        })
    }
}

impl Dependency for Provider {
    type Request = ProviderRequest;
    type Response = Generation;

    async fn call(
        &self,
        req: ProviderRequest,
        ctx: &CallContext,
    ) -> Result<Generation, DependencyError> {
        self.generate(&req, ctx)
            .await
            .map_err(ProviderError::classify)
    }

    async fn reset(&self) {
        self.http.reset().await;
    }
}

/// The providers behind one handle, in failover order.
pub type ProviderPool = Pool<Provider>;
