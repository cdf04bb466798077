//! Where jobs live: [`JobStore`], a SQLite file in the data dir (`jobs.sqlite`), and
//! [`JobStoreDependency`], the same store as a Bulwark dependency with its own breaker and
//! bulkhead.
//!
//! Every state change is one SQL statement, so a crash leaves each job in exactly one state:
//!
//! - **accept**: `INSERT … ON CONFLICT DO NOTHING` (a retried insert or a repeated idempotency
//!   key finds the stored job instead of making a second one);
//! - **claim**: one `UPDATE … RETURNING` takes the oldest available queued job (or a running one
//!   whose lease expired), marks it running and counts the try in `attempts`;
//! - **finish**: `UPDATE … WHERE status = 'running' AND attempts = ?` — the try number is the
//!   lease's fencing token, so a result is written once, by the worker that holds the job;
//!   `completed_count` counts the result writes (1 for every done job, which tests check);
//! - **recover** (at start): jobs left running by a crashed process go back to queued, or to
//!   failed when they used up their tries (a job that crashes the process is not retried forever).
//!
//! Statements use bound parameters only.

mod dependency;
mod sqlite;

pub use dependency::{JobOp, JobReply, JobStoreDependency};
pub use sqlite::{AuditRow, Finish, Inserted, JobStore, Recovered};

/// The jobs file in the data dir.
pub const FILE_NAME: &str = "jobs.sqlite";

/// A failed store operation. Carries the driver's error as its source, never a text of a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobStoreError {
    /// The database could not be reached or was busy (may pass).
    #[error("job store unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database answered with an error that will not pass by retrying.
    #[error("job store failed")]
    Failed(#[source] sqlx::Error),
    /// The job under an idempotency key was deleted (retention) between the insert that found
    /// the key taken and the read of its job: trying again stores a new job.
    #[error("job under the idempotency key deleted during the insert")]
    KeyRaced,
    /// A stored row could not be read back (a column holds what no version of Bulwark writes).
    #[error("job store holds a malformed row: {0}")]
    Corrupt(&'static str),
    /// A job's input or results could not be encoded or decoded as JSON.
    #[error("job store JSON")]
    Json(#[source] serde_json::Error),
    /// Migrations could not be applied.
    #[error("job store migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The data directory could not be created.
    #[error("cannot create the job store's directory")]
    Directory(#[source] std::io::Error),
}

impl JobStoreError {
    /// Classifies a driver error with the auth store's rules (connection problems, SQLite
    /// `BUSY`, `LOCKED`, `IOERR`, `CANTOPEN` may pass).
    pub fn from_sqlx(error: sqlx::Error) -> Self {
        if crate::auth::store::is_transient(&error) {
            Self::Unavailable(error)
        } else {
            Self::Failed(error)
        }
    }
}
