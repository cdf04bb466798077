//! The authentication pipeline: users, argon2id password hashes, EdDSA JWT bearer tokens, and
//! cached credentials that keep people working when the user store is down.
//!
//! ```
//! use bulwark_runtime::prelude::*;
//! use bulwark_services::auth::{AuthConfig, AuthService, Credentials};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data_dir = tempfile::tempdir()?;
//! let runtime = Runtime::builder().build().await?;
//! let mut config = AuthConfig::default();
//! config.hasher.memory_kib = 64; // cheap hashes for the example; keep the defaults in production
//! config.hasher.iterations = 1;
//! let auth = AuthService::builder(config).data_dir(data_dir.path()).start(&runtime).await?;
//!
//! let ctx = CallContext::untracked();
//! let alice = Credentials::new("Alice", "correct horse battery staple");
//! assert_eq!(auth.register(&ctx, &alice).await?.username, "alice");
//! let token = auth.login(&ctx, &alice, None).await?;
//! assert_eq!((token.token_type, token.scope.to_string().as_str()), ("Bearer", "read write"));
//!
//! let bearer = format!("Bearer {}", token.access_token.expose());
//! let me = auth.authorize(Some(&bearer), "read")?;
//! assert_eq!((me.username.as_str(), me.degraded), ("alice", false));
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! One concern per module:
//! - [`config`]: the `[auth]` section ([`AuthConfig`]);
//! - [`input`]: username and password rules; [`scope`]: scope sets;
//! - [`store`]: the [`UserStore`](store::UserStore) trait, SQLite and PostgreSQL, each a Bulwark
//!   dependency, primary + replicas with read failover;
//! - [`hasher`]: argon2id on its own bounded threads behind its own bulkhead;
//! - [`tokens`]: signing and validation (EdDSA only, `kid`, rotation, revocation);
//! - [`cache`]: the credential cache and the validated-token cache;
//! - [`limits`]: per-username, per-address and failed-login rate limits;
//! - [`service`]: the operations and degraded mode; [`error`]: how failures reach the wire.
//!
//! The HTTP routes (`POST /v1/auth/register`, `POST /v1/auth/token`, `GET /v1/auth/me`) map
//! one-to-one onto [`AuthService::register`], [`AuthService::login`] and
//! [`AuthService::authorize`]; errors convert into the wire format with
//! `ServiceError::from(AuthError)`.

pub mod cache;
pub mod config;
pub mod error;
pub mod hasher;
pub mod input;
pub mod limits;
pub mod routes;
pub mod scope;
pub mod service;
pub mod store;
pub mod tokens;

pub use config::AuthConfig;
pub use error::AuthError;
pub use input::{Credentials, Password, Username};
pub use scope::Scopes;
pub use service::{
    AuthHealth, AuthReadiness, AuthService, AuthServiceBuilder, AuthStartError, Principal,
    RegisteredUser, TokenResponse,
};
