//! [`SqliteStore`]: users in a SQLite file (the embedded default).
//!
//! The file is created on first run (a primary only) in WAL mode, so readers never wait for the
//! writer; a busy database is waited for up to 5 s before the attempt fails as transient.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::{SqlStore, Statements};
use super::{OpenMode, PoolSettings, StoreError, migrations};

static STATEMENTS: Statements = Statements {
    backend: "sqlite",
    find: "SELECT id, username, password_hash, scopes, created_at_ms \
           FROM users WHERE username = ?1",
    insert: "INSERT INTO users (id, username, password_hash, scopes, created_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
};

/// A SQLite user store.
pub type SqliteStore = SqlStore<Sqlite>;

/// Opens `url` (`sqlite://PATH`). A primary creates the file and its directory if missing and
/// applies the migrations; a replica only connects, lazily and read-only.
pub async fn open(
    url: &str,
    mode: OpenMode,
    pool: PoolSettings,
) -> Result<SqliteStore, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::Failed)?
        .create_if_missing(mode == OpenMode::Primary)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL with NORMAL sync: a commit survives a process crash (kill -9) and costs no fsync;
        // only a power loss can drop the last commits. FULL made bursts of registrations queue
        // behind fsyncs on slow disks (seconds on a CI runner).
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    let pool_options = SqlitePoolOptions::new()
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout);
    if mode == OpenMode::Replica {
        let pool = pool_options.connect_lazy_with(options.read_only(true));
        return Ok(SqlStore::new(pool, &STATEMENTS));
    }
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
    }
    let pool = migrations::connect_migrated(pool_options, options, migrations::SQLITE).await?;
    Ok(SqlStore::new(pool, &STATEMENTS))
}
