//! The sentiment pipeline: model endpoints with failover, a cache, and the rule-based analyzer
//! as the fallback.
//!
//! ```
//! use bulwark_runtime::prelude::*;
//! use bulwark_services::sentiment::{SentimentConfig, SentimentService, Source};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().build().await?;
//! // No endpoint configured: the rule-based analyzer answers, marked degraded.
//! let sentiment = SentimentService::builder(SentimentConfig::default()).start(&runtime).await?;
//! let answer = sentiment.analyze(&CallContext::untracked(), "The food was GREAT!!").await?;
//! assert_eq!((answer.label.as_str(), answer.source, answer.degraded), ("positive", Source::RuleBased, true));
//! assert!(sentiment.analyze(&CallContext::untracked(), "   ").await.is_err());
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! One concern per module:
//! - [`analyzer`]: the rule-based analyzer (lexicon and rules, no I/O), usable alone;
//! - [`config`]: the `[sentiment]` section ([`SentimentConfig`]);
//! - [`input`]: what a text and a batch must be;
//! - [`model`]: the endpoints' wire format (Hugging Face text classification) and the pool type;
//! - [`labels`]: model labels to positive / negative / neutral;
//! - [`cache`]: recent model answers by normalised text;
//! - [`service`]: [`SentimentService`], the pipeline; [`error`]: its errors;
//! - [`routes`]: `POST /v1/sentiment`, `POST /v1/sentiment/batch`.

pub mod analyzer;
pub mod cache;
pub mod config;
pub mod error;
pub mod input;
pub mod labels;
pub mod model;
pub mod routes;
pub mod service;

pub use config::SentimentConfig;
pub use error::{SentimentError, SentimentStartError};
pub use service::{Sentiment, SentimentService, SentimentServiceBuilder, Source};
