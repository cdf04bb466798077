//! The HTTP gateway (axum).
//!
//! [`app()`] builds the whole application from an [`AppState`]; [`server::Server`] runs it on a
//! listener with the edge limits (connections, header timeout and size, keep-alive), optional
//! TLS ([`tls`]) and graceful shutdown. Every request passes, outermost first:
//!
//! 1. [`correlation`]: takes a valid `X-Correlation-ID` or makes one, opens the request's tracing
//!    span (so every log line carries the ID), echoes the ID in the response header and turns any
//!    error response not yet in the standard format into it;
//! 2. [`panic`](mod@panic): a panicking handler becomes a 500 `SYSTEM_ERROR` (the panic text goes to the log);
//! 3. [`limits`]: bodies over the limit (default 1 MiB) are refused with 413;
//! 4. the routes, then [`fallback`] for unknown routes (404) and wrong methods (405).
//!
//! Handlers return `Result<_, `[`ApiError`]`>` and take JSON bodies with [`ApiJson`], so every
//! failure answers in the one wire format of [`bulwark_runtime::error`].

pub mod app;
pub mod config;
pub mod correlation;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod limits;
pub mod panic;
pub mod server;
pub mod tls;

pub use app::{AppState, app, build};
pub use config::{GatewayConfig, TlsConfig};
pub use error::ApiError;
pub use extract::{ApiJson, Correlation};
