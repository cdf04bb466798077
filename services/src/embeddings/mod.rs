//! The embeddings pipeline: a pool of OpenAI-compatible embeddings endpoints with failover, and
//! a local feature-hashing embedding as the fallback.
//!
//! ```
//! use bulwark_runtime::prelude::*;
//! use bulwark_services::embeddings::{EmbeddingsConfig, EmbeddingsService};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().build().await?;
//! let mut config = EmbeddingsConfig::default();
//! config.dimension = 64;
//! // No endpoint configured: the local hashing embedding answers, marked degraded.
//! let embeddings = EmbeddingsService::builder(config).start(&runtime).await?;
//! let answer = embeddings.embed(&CallContext::untracked(), &["hello world".to_owned()]).await?;
//! assert_eq!((answer.data[0].embedding.len(), answer.degraded), (64, true));
//! assert_eq!(answer.model, "local-hashing-64");
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`config`]: the `[embeddings]` section; [`model`]: the wire format and the pool type;
//! - [`local`]: the hashing embedding; [`service`]: [`EmbeddingsService`];
//! - [`routes`]: `POST /v1/embeddings`.

pub mod config;
pub mod local;
pub mod model;
pub mod routes;
pub mod service;

pub use config::EmbeddingsConfig;
pub use local::HashingEmbedder;
pub use service::{
    Embedding, Embeddings, EmbeddingsError, EmbeddingsService, EmbeddingsServiceBuilder,
    EmbeddingsStartError,
};
