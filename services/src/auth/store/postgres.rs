//! [`PgStore`]: users in PostgreSQL (the production option).
//!
//! A primary is connected at start and migrated; a replica (a streaming standby, read-only)
//! connects lazily and is never written to. Pools check a connection before handing it out, so
//! after the server comes back the first query does not fail on a dead connection: recovery
//! needs no restart.

use std::str::FromStr;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::sql::{SqlStore, Statements};
use super::{OpenMode, PoolSettings, StoreError, migrations};

static STATEMENTS: Statements = Statements {
    backend: "postgres",
    find: "SELECT id, username, password_hash, scopes, created_at_ms \
           FROM users WHERE username = $1",
    insert: "INSERT INTO users (id, username, password_hash, scopes, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
};

/// A PostgreSQL user store.
pub type PgStore = SqlStore<Postgres>;

/// Opens `url` (`postgres://user@host:port/db`). A primary connects now and is migrated; a
/// replica connects lazily.
pub async fn open(url: &str, mode: OpenMode, pool: PoolSettings) -> Result<PgStore, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(StoreError::Failed)?;
    let pool_options = PgPoolOptions::new()
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .test_before_acquire(true);
    if mode == OpenMode::Replica {
        return Ok(SqlStore::new(
            pool_options.connect_lazy_with(options),
            &STATEMENTS,
        ));
    }
    let pool = migrations::connect_migrated(pool_options, options, migrations::POSTGRES).await?;
    Ok(SqlStore::new(pool, &STATEMENTS))
}
