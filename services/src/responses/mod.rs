//! The response pipeline: customer responses from LLM providers (OpenAI-compatible chat
//! completions and the Anthropic Messages API), each provider its own dependency with its own
//! breaker, tried in order (optionally hedged), and templates as the fallback.
//!
//! ```
//! use bulwark_runtime::prelude::*;
//! use bulwark_services::responses::{ResponseConfig, ResponseRequest, ResponseService};
//! use bulwark_services::sentiment::{SentimentConfig, SentimentService};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().build().await?;
//! let sentiment = SentimentService::builder(SentimentConfig::default()).start(&runtime).await?;
//! // No provider configured: the template of the intent and sentiment answers, degraded.
//! let responses = ResponseService::builder(ResponseConfig::default(), sentiment)
//!     .start(&runtime)
//!     .await?;
//! let reply = responses
//!     .respond(&CallContext::untracked(), &ResponseRequest::new("I want a refund, this is awful"))
//!     .await?;
//! assert_eq!((reply.provider.as_str(), reply.degraded), ("template", true));
//! assert_eq!(reply.intent.as_str(), "refund");
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The actor tree: the [`ResponseService`] (the supervisor's handle) → the sentiment step (the
//! [`SentimentService`](crate::sentiment::SentimentService) handle) → the provider pool (one
//! dependency actor per provider, `responses.providers/<name>`) → the template responder → the
//! cache.
//!
//! One concern per module:
//! - [`config`]: the `[response]` section ([`ResponseConfig`]);
//! - [`input`]: what a request must be ([`ResponseRequest`]);
//! - [`intent`]: what a message is about, by keywords; [`prompt`]: the instructions they steer;
//! - [`provider`]: a provider as a dependency, both wire formats, streams, error bodies;
//! - [`templates`]: the fallback answers from a TOML data file; [`usage`]: token counts;
//! - [`service`]: [`ResponseService`], the pipeline; [`error`]: its errors;
//! - [`routes`]: `POST /v1/responses`, JSON or server-sent events.

pub mod config;
pub mod error;
pub mod input;
pub mod intent;
pub mod prompt;
pub mod provider;
pub mod routes;
pub mod service;
pub mod templates;
pub mod usage;

pub use config::{HedgingConfig, ProviderConfig, ProviderKind, ResponseConfig};
pub use error::{ResponseError, ResponseStartError};
pub use input::ResponseRequest;
pub use intent::Intent;
pub use service::{Reply, ReplyStream, ResponseService, ResponseServiceBuilder};
