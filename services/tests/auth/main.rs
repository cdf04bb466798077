//! The auth pipeline without HTTP: tokens, stores (SQLite, PostgreSQL), degraded mode, limits,
//! and hashing that never starves validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod degraded;
mod hashing;
mod limits;
mod postgres;
mod sqlite;
mod tokens;
