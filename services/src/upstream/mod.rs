//! Configured HTTP upstreams as the endpoints of a runtime [`Pool`](bulwark_runtime::pool::Pool):
//! the `[[<section>.endpoints]]` entries shared by the model-backed pipelines (sentiment,
//! embeddings), their validation, and the dependency that posts JSON to each endpoint's own URL.
//!
//! - [`config`]: [`EndpointConfig`] and its checks;
//! - [`endpoint`]: [`JsonEndpoint`], an [`HttpDependency`](bulwark_runtime::http::HttpDependency)
//!   bound to one path, so the endpoints of one pool may live at different paths;
//! - [`pool`]: builds the pool, one tier per distinct `tier` value, in ascending order;
//! - [`reserve`]: the model call's deadline, moved earlier to leave time for the fallback.

pub mod config;
pub mod endpoint;
pub mod pool;
pub mod reserve;

pub use config::{EndpointConfig, InvalidEndpoint};
pub use endpoint::JsonEndpoint;
pub use pool::{PoolStartError, Target, api_key, attempt_policy, build_pool, exact_url};
pub use reserve::with_reserve;
