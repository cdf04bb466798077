//! The HTTP gateway (axum).
//!
//! [`app()`] builds the whole application from an [`AppState`]; [`server::Server`] runs it on a
//! listener with the edge limits (connections, header timeout and size, keep-alive), optional
//! TLS ([`tls`]) and graceful shutdown. Every request passes, outermost first (all of it one
//! tower layer, [`layer::GatewayLayer`]):
//!
//! 1. [`correlation`]: takes a valid `X-Correlation-ID` or makes one, opens the request's tracing
//!    span (so every log line carries the ID), echoes the ID in the response header and turns any
//!    error response not yet in the standard format into it;
//! 2. [`http_metrics`]: `bulwark_http_requests_total` and `bulwark_http_request_duration_seconds`
//!    by route template;
//! 3. [`panic`](mod@panic): a panicking handler becomes a 500 `SYSTEM_ERROR` (the panic text goes to the log);
//! 4. [`edge`]: rate limits per client and route class (429), then places per route class
//!    (a full class answers 503 at once; health, metrics and status have their own places);
//! 5. [`deadline`]: the request's deadline (`request_timeout`, lowered by `X-Request-Timeout`);
//!    past it the request answers 504;
//! 6. [`limits`]: bodies over the limit (default 1 MiB) are refused with 413;
//! 7. the routes, then [`fallback`] for unknown routes (404) and wrong methods (405).
//!
//! The service's own routes are `/livez`, `/readyz` ([`health`], [`readiness`]), `/status`
//! ([`status`]), `/metrics` ([`prometheus`]) and `/openapi.json` ([`openapi`]).
//!
//! Handlers return `Result<_, `[`ApiError`]`>` and take JSON bodies with [`ApiJson`], so every
//! failure answers in the one wire format of [`bulwark_runtime::error`].

pub mod admission;
pub mod app;
pub mod config;
pub mod correlation;
pub mod dashboard;
pub mod deadline;
pub mod edge;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod http_metrics;
pub mod layer;
pub mod limits;
pub mod openapi;
pub mod panic;
pub mod prometheus;
pub mod readiness;
pub mod server;
pub mod status;
pub mod tls;

pub use app::{AppState, AppStateBuilder, app, build};
pub use config::{GatewayConfig, TlsConfig};
pub use deadline::RequestDeadline;
pub use error::ApiError;
pub use extract::{ApiJson, Correlation, NoQuery, RequestContext};
pub use readiness::{Readiness, Role};
