//! [`SqlStore`]: the [`UserStore`] of any sqlx database, given its statements.
//!
//! SQLite and PostgreSQL differ only in how they are opened and in their placeholders, so the
//! queries, the row mapping and the error classification live here once.

use futures::future::BoxFuture;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Type};

use super::{Duplicate, NewUser, StoreError, StoredHash, UserRecord, UserStore};
use crate::auth::scope::Scopes;

/// The statements of one backend, with its own placeholders; every value is a bound parameter.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) backend: &'static str,
    pub(super) find: &'static str,
    pub(super) insert: &'static str,
}

/// A user store on a sqlx pool.
#[derive(Debug)]
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    statements: &'static Statements,
}

impl<DB: Database> SqlStore<DB> {
    pub(super) fn new(pool: Pool<DB>, statements: &'static Statements) -> Self {
        Self { pool, statements }
    }

    /// The connection pool (tests close it to make the store disappear).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB> UserStore for SqlStore<DB>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    fn find(&self, username: &str) -> BoxFuture<'_, Result<Option<UserRecord>, StoreError>> {
        let query = sqlx::query::<DB>(self.statements.find).bind(username.to_owned());
        Box::pin(async move {
            let row = query
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
            row.map(|row| record_from_row::<DB>(&row))
                .transpose()
                .map_err(StoreError::Failed)
        })
    }

    fn insert(&self, user: &NewUser) -> BoxFuture<'_, Result<Result<(), Duplicate>, StoreError>> {
        let query = sqlx::query::<DB>(self.statements.insert)
            .bind(user.id.clone())
            .bind(user.username.clone())
            .bind(user.password_hash.expose().to_owned())
            .bind(user.scopes.to_string())
            .bind(user.created_at_ms);
        Box::pin(async move {
            match query.execute(&self.pool).await {
                Ok(_) => Ok(Ok(())),
                Err(e) if is_unique_violation(&e) => Ok(Err(Duplicate)),
                Err(e) => Err(StoreError::from_sqlx(e)),
            }
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query::<DB>("SELECT 1")
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(StoreError::from_sqlx)
        })
    }

    fn backend(&self) -> &'static str {
        self.statements.backend
    }
}

fn record_from_row<DB>(row: &DB::Row) -> Result<UserRecord, sqlx::Error>
where
    DB: Database,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    use sqlx::Row;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: StoredHash::new(row.try_get("password_hash")?),
        scopes: Scopes::parse(&row.try_get::<String, _>("scopes")?),
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// Whether `error` is a unique-constraint violation (the username is taken).
fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}
