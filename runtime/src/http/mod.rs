//! HTTP dependencies: JSON over HTTP with the classification, timeouts, limits and headers every
//! pipeline needs, written once.
//!
//! [`HttpDependency`] implements [`Dependency`](crate::dependency::Dependency) for a base URL;
//! each call sends an [`HttpRequest`] (method, path, typed JSON body) and decodes the answer as
//! `R`. Register it like any dependency, or as the endpoints of an inference
//! [`Pool`](crate::pool::Pool).
//!
//! ```no_run
//! use bulwark_runtime::http::{HttpDependency, HttpRequest};
//! use bulwark_runtime::prelude::*;
//!
//! #[derive(serde::Serialize)]
//! struct Predict { text: String }
//! #[derive(serde::Deserialize)]
//! struct Prediction { label: String, score: f64 }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = Policy::from_toml("[timeout]\nconnect = \"500ms\"\nread = \"2s\"\n")?;
//! let model = HttpDependency::<Predict, Prediction>::builder("http://127.0.0.1:9000/v1")
//!     .timeouts(&policy.timeout)
//!     .probe_path("/health")
//!     .build()?;
//! let runtime = Runtime::builder().dependency("sentiment-model", model, policy).build().await?;
//! let model = runtime.handle::<HttpDependency<Predict, Prediction>>("sentiment-model")?;
//! let request = HttpRequest::post("/predict", Predict { text: "great".into() });
//! let prediction = model.call(request, CallContext::untracked()).await?;
//! println!("{} {}", prediction.label, prediction.score);
//! # Ok(()) }
//! ```
//!
//! One concern per file: `client.rs` (the dependency and its builder), `request.rs`,
//! [`classify`] (what a failure means, `Retry-After`), `body.rs` (the size limit), [`trace`]
//! (`traceparent`), `tls.rs` (rustls on `ring`), `error.rs`.

mod body;
pub mod classify;
mod client;
mod error;
mod request;
mod tls;
pub mod trace;

pub use client::{DEFAULT_MAX_RESPONSE_BYTES, HttpDependency, HttpDependencyBuilder};
pub use error::{HttpError, InvalidHttpConfig};
pub use request::HttpRequest;
pub(crate) use tls::client_config as tls_client_config;
pub use tls::install_default_tls;
