//! Where users live: the [`UserStore`] trait, its SQLite and PostgreSQL implementations, and the
//! guarded, replicated set of stores the service reads and writes through ([`UserStores`]).
//!
//! - [`sqlite`] (the embedded default, a file in the data dir) and [`postgres`] (production,
//!   primary + read replicas) use sqlx with bound parameters only: no SQL is built from input.
//!   Migrations run when a primary is opened; replicas are never written to.
//! - [`StoreDependency`] makes any store a Bulwark [`Dependency`](bulwark_runtime::dependency::Dependency)
//!   with its own breaker and bulkhead, and a `SELECT 1` probe so an open circuit notices
//!   recovery with no traffic.
//! - [`UserStores`] routes reads to the replicas in turn and fails over to the primary, writes to
//!   the primary, and says whether reads or writes are possible at all (degraded mode).

mod connect;
mod dependency;
pub(crate) mod migrations;
pub mod postgres;
mod replicated;
mod sql;
pub mod sqlite;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::scope::Scopes;

pub use connect::{ConnectError, default_store_policy};
pub use dependency::{StoreDependency, StoreOp, StoreReply};
pub use replicated::{ReadFailed, ReadSource, StoreHandle, StoreRole, UserStores};
pub use sql::SqlStore;

/// A stored password hash (argon2id PHC string). Never displayed; `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash(Arc<zeroize::Zeroizing<String>>);

impl StoredHash {
    /// Wraps a PHC string.
    pub fn new(phc: String) -> Self {
        Self(Arc::new(zeroize::Zeroizing::new(phc)))
    }

    /// The PHC string, for the hasher and the database only.
    pub(crate) fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredHash(***)")
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id (UUID v7 text).
    pub id: String,
    /// Lowercase username, unique.
    pub username: String,
    /// The argon2id hash of the password.
    pub password_hash: StoredHash,
    /// Scopes granted to the user's tokens.
    pub scopes: Scopes,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A user to create.
pub type NewUser = UserRecord;

/// A failed store operation. Carries the driver's error as its source, never a parameter value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or answered with a failure that may pass (connection
    /// refused or reset, pool exhausted, server shutting down, lock contention).
    #[error("user store unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database answered with an error that will not pass by retrying (missing table,
    /// constraint, malformed row).
    #[error("user store failed")]
    Failed(#[source] sqlx::Error),
    /// Migrations could not be applied.
    #[error("user store migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The URL names no supported database.
    #[error("unsupported user store URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
}

impl StoreError {
    /// Classifies a driver error: connection-level problems, PostgreSQL classes 08 (connection),
    /// 53 (resources), 57 (operator intervention, e.g. shutdown), 40 (serialization) and SQLite
    /// `BUSY`, `LOCKED`, `IOERR`, `CANTOPEN` may pass; everything else will not.
    pub fn from_sqlx(error: sqlx::Error) -> Self {
        if is_transient(&error) {
            Self::Unavailable(error)
        } else {
            Self::Failed(error)
        }
    }
}

/// Whether a driver error may pass: connection-level problems, PostgreSQL classes 08, 53, 57,
/// 40 and SQLite `BUSY`, `LOCKED`, `IOERR`, `CANTOPEN` (shared with the job store).
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            let code = code.as_ref();
            // PostgreSQL SQLSTATE classes, then SQLite (extended) result codes: the low
            // byte is the primary code — BUSY 5, LOCKED 6, IOERR 10, CANTOPEN 14.
            let sqlite = code.parse::<u32>().ok().map(|c| c & 0xff);
            ["08", "53", "57", "40"].iter().any(|c| code.starts_with(c))
                || matches!(sqlite, Some(5 | 6 | 10 | 14))
        }),
        _ => false,
    }
}

/// Inserting found the username taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("username already taken")]
pub struct Duplicate;

/// A user database. Implementations must use bound parameters only.
///
/// Object-safe (boxed futures) so the service holds `Arc<dyn UserStore>` whatever the backend;
/// a box per database round trip costs nothing next to the round trip.
pub trait UserStore: Send + Sync + fmt::Debug + 'static {
    /// The user named `username` (already lowercased), if any.
    fn find(&self, username: &str) -> BoxFuture<'_, Result<Option<UserRecord>, StoreError>>;

    /// Creates `user`; `Ok(Err(Duplicate))` when the username is taken.
    fn insert(&self, user: &NewUser) -> BoxFuture<'_, Result<Result<(), Duplicate>, StoreError>>;

    /// A cheap round trip (`SELECT 1`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Which backend, for logs and status ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A primary: created if missing (SQLite) and migrated.
    Primary,
    /// A read replica: connected only, never written or migrated.
    Replica,
}

/// Pool settings shared by both backends.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Connections at most.
    pub max_connections: u32,
    /// Longest wait for a connection.
    pub acquire_timeout: std::time::Duration,
}

/// Opens the store at `url` (`sqlite://…` or `postgres://…`).
///
/// The pool connects lazily: a database that is down at start is a store that is unavailable,
/// not a service that cannot start — except for a primary, whose migrations must run, so its
/// first connection is made here.
pub async fn open(
    url: &str,
    mode: OpenMode,
    pool: PoolSettings,
) -> Result<Arc<dyn UserStore>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::open(url, mode, pool).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::open(url, mode, pool).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_problems_are_transient_the_rest_permanent() {
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            assert!(matches!(
                StoreError::from_sqlx(e),
                StoreError::Unavailable(_)
            ));
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            StoreError::from_sqlx(sqlx::Error::Io(refused)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from_sqlx(sqlx::Error::RowNotFound),
            StoreError::Failed(_)
        ));
    }
}
