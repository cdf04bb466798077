//! Schema migrations, embedded in the binary and applied when a primary is opened.
//!
//! sqlx's `migrate!` macro would need sqlx's proc-macro crate, which builds sqlx and SQLite a
//! second time for the host; an embedded [`MigrationSource`] does the same job at run time with
//! sqlx's own migrator (its `_sqlx_migrations` table, checksums and locking).

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::migrate::{Migrate, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Database, Pool};

use super::StoreError;

/// One migration: version, description, SQL.
pub(crate) type Step = (i64, &'static str, &'static str);

/// SQLite's migrations, in order.
pub(super) const SQLITE: &[Step] =
    &[(1, "users", include_str!("migrations/sqlite_0001_users.sql"))];

/// PostgreSQL's migrations, in order.
pub(super) const POSTGRES: &[Step] = &[(
    1,
    "users",
    include_str!("migrations/postgres_0001_users.sql"),
)];

/// Migrations embedded in the binary, resolved by sqlx's migrator (shared with the job store).
#[derive(Debug)]
pub(crate) struct Embedded(pub(crate) &'static [Step]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> BoxFuture<'static, Result<Vec<Migration>, Box<dyn std::error::Error + Send + Sync>>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// Connects a primary's pool now and applies `steps`.
pub(super) async fn connect_migrated<DB>(
    pool: PoolOptions<DB>,
    options: <DB::Connection as Connection>::Options,
    steps: &'static [Step],
) -> Result<Pool<DB>, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let pool = pool
        .connect_with(options)
        .await
        .map_err(StoreError::from_sqlx)?;
    Migrator::new(Embedded(steps))
        .await
        .map_err(StoreError::Migrate)?
        .run(&pool)
        .await
        .map_err(StoreError::Migrate)?;
    Ok(pool)
}
