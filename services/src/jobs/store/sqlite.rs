//! [`JobStore`]: jobs in a SQLite file, WAL mode with `synchronous = NORMAL` (a commit survives
//! a process crash — `kill -9` — without an fsync per commit; only a power loss can drop the
//! last commits). A busy database is waited for up to 5 s before the attempt fails as transient.

use std::path::Path;
use std::time::Duration;

use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use super::JobStoreError;
use crate::auth::store::migrations::{Embedded, Step};
use crate::jobs::model::{ClaimedJob, JobId, JobRecord, JobStatus, NewJob};

const MIGRATIONS: &[Step] = &[(1, "jobs", include_str!("migrations/sqlite_0001_jobs.sql"))];

/// A `SELECT` of a job's record columns with a constant `WHERE` clause.
macro_rules! select_record {
    ($where:literal) => {
        concat!(
            "SELECT id, status, request_hash, results, error, attempts, completed_count, ",
            "created_at_ms, updated_at_ms FROM jobs WHERE ",
            $where
        )
    };
}

/// What an insert found.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// The job was stored (or had already been stored by an earlier try of the same insert).
    Created,
    /// A job with the same idempotency key was there already: this one.
    Existing(JobRecord),
}

/// Whether a worker's final write took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Written: the job changed state.
    Written,
    /// Not written: the job is no longer this try's (already finished, or claimed again after
    /// its lease expired).
    NotOwner,
}

impl Finish {
    /// Whether the write took effect.
    pub fn written(self) -> bool {
        self == Finish::Written
    }
}

/// What recovery at start did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs left running that went back to queued.
    pub requeued: u64,
    /// Jobs left running that had used up their tries and were marked failed.
    pub failed: u64,
}

/// One job's bookkeeping, for audits and tests: was any result written twice?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its id.
    pub id: JobId,
    /// Where it is.
    pub status: JobStatus,
    /// Tries so far.
    pub attempts: u32,
    /// Result writes (1 for a done job).
    pub completed_count: u32,
    /// Number of texts.
    pub texts: usize,
    /// Number of results (0 until done).
    pub results: usize,
}

/// The job store on a SQLite pool.
#[derive(Debug, Clone)]
pub struct JobStore {
    pool: SqlitePool,
}

impl JobStore {
    /// Opens (creating if missing) `<dir>/jobs.sqlite` and applies the migrations.
    pub async fn open_in(dir: &Path) -> Result<Self, JobStoreError> {
        Self::open(&dir.join(super::FILE_NAME)).await
    }

    /// Opens (creating if missing) the SQLite file at `path` and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self, JobStoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(JobStoreError::Directory)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        // Readers never wait for the writer in WAL mode; writers take turns anyway, so a few
        // connections serve any number of workers (the store's bulkhead bounds the callers).
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(2))
            .connect_with(options)
            .await
            .map_err(JobStoreError::from_sqlx)?;
        Migrator::new(Embedded(MIGRATIONS))
            .await
            .map_err(JobStoreError::Migrate)?
            .run(&pool)
            .await
            .map_err(JobStoreError::Migrate)?;
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Stores `job` unless its idempotency key is taken; safe to try again after an unknown
    /// outcome (the id is the caller's, so a repeated insert finds its own row).
    pub async fn insert(&self, job: &NewJob) -> Result<Inserted, JobStoreError> {
        let input = serde_json::to_string(&job.texts).map_err(JobStoreError::Json)?;
        sqlx::query(
            "INSERT INTO jobs (id, idempotency_key, request_hash, status, input, attempts, \
             completed_count, correlation_id, created_at_ms, updated_at_ms, available_at_ms) \
             VALUES (?1, ?2, ?3, 'queued', ?4, 0, 0, ?5, ?6, ?6, ?6) ON CONFLICT DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(job.idempotency_key.as_deref())
        .bind(&job.request_hash)
        .bind(input)
        .bind(&job.correlation_id)
        .bind(job.created_at_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        if self.get(job.id).await?.is_some() {
            return Ok(Inserted::Created);
        }
        match &job.idempotency_key {
            Some(key) => match self.find_by_key(key).await? {
                Some(existing) => Ok(Inserted::Existing(existing)),
                // The keyed job was deleted (retention) between the insert and the lookup.
                None => Err(JobStoreError::Corrupt(
                    "idempotency key conflict without a job",
                )),
            },
            None => Err(JobStoreError::Corrupt("insert stored no row")),
        }
    }

    /// Stores `job` as done with `results` — one statement, unless its id is stored already —
    /// and answers the stored job. For jobs queued elsewhere (the broker's work queue) and
    /// processed before they are stored: a second delivery finds the first one's results, so a
    /// job's results are written once per store.
    pub async fn record_done(
        &self,
        job: &NewJob,
        results: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Option<JobRecord>, JobStoreError> {
        let input = serde_json::to_string(&job.texts).map_err(JobStoreError::Json)?;
        let results = serde_json::to_string(results).map_err(JobStoreError::Json)?;
        sqlx::query(
            "INSERT INTO jobs (id, idempotency_key, request_hash, status, input, results, \
             attempts, completed_count, correlation_id, created_at_ms, updated_at_ms, \
             available_at_ms) \
             VALUES (?1, NULL, ?2, 'done', ?3, ?4, 1, 1, ?5, ?6, ?7, ?6) ON CONFLICT DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(&job.request_hash)
        .bind(input)
        .bind(results)
        .bind(&job.correlation_id)
        .bind(job.created_at_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        self.get(job.id).await
    }

    /// The job `id`, if stored.
    pub async fn get(&self, id: JobId) -> Result<Option<JobRecord>, JobStoreError> {
        let row = sqlx::query(select_record!("id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(JobStoreError::from_sqlx)?;
        row.as_ref().map(record).transpose()
    }

    /// The job stored under idempotency key `key`, if any.
    pub async fn find_by_key(&self, key: &str) -> Result<Option<JobRecord>, JobStoreError> {
        let row = sqlx::query(select_record!("idempotency_key = ?1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(JobStoreError::from_sqlx)?;
        row.as_ref().map(record).transpose()
    }

    /// Takes the oldest queued job available at `now_ms` (or a running one whose lease expired),
    /// marks it running until `now_ms + lease` and counts the try. One statement: two workers
    /// never take the same job.
    pub async fn claim(
        &self,
        now_ms: i64,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, JobStoreError> {
        let lease_until = now_ms.saturating_add(millis(lease));
        let row = sqlx::query(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
             lease_until_ms = ?2, updated_at_ms = ?1 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (status = 'queued' AND available_at_ms <= ?1) \
                    OR (status = 'running' AND lease_until_ms < ?1) \
                 ORDER BY created_at_ms, id LIMIT 1) \
             RETURNING id, input, attempts, correlation_id",
        )
        .bind(now_ms)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let input: String = row.try_get("input").map_err(JobStoreError::Failed)?;
        Ok(Some(ClaimedJob {
            id: parse_id(&row)?,
            texts: serde_json::from_str(&input).map_err(JobStoreError::Json)?,
            attempt: count(&row, "attempts")?,
            correlation_id: row
                .try_get("correlation_id")
                .map_err(JobStoreError::Failed)?,
        }))
    }

    /// Writes the results of try `attempt` of job `id` and marks it done — only if that try
    /// still holds the job, so a result is written once.
    pub async fn complete(
        &self,
        id: JobId,
        attempt: u32,
        results: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Finish, JobStoreError> {
        let results = serde_json::to_string(results).map_err(JobStoreError::Json)?;
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', results = ?3, error = NULL, lease_until_ms = NULL, \
             completed_count = completed_count + 1, updated_at_ms = ?4 \
             WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        )
        .bind(id.to_string())
        .bind(i64::from(attempt))
        .bind(results)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        Ok(finish(done.rows_affected()))
    }

    /// Marks try `attempt` of job `id` failed for good with `error`, if that try holds it.
    pub async fn fail(
        &self,
        id: JobId,
        attempt: u32,
        error: &str,
        now_ms: i64,
    ) -> Result<Finish, JobStoreError> {
        let failed = sqlx::query(
            "UPDATE jobs SET status = 'failed', error = ?3, lease_until_ms = NULL, \
             updated_at_ms = ?4 WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        )
        .bind(id.to_string())
        .bind(i64::from(attempt))
        .bind(error)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        Ok(finish(failed.rows_affected()))
    }

    /// Puts try `attempt` of job `id` back in the queue, available again at `available_at_ms`.
    pub async fn requeue(
        &self,
        id: JobId,
        attempt: u32,
        available_at_ms: i64,
        now_ms: i64,
    ) -> Result<Finish, JobStoreError> {
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_until_ms = NULL, available_at_ms = ?3, \
             updated_at_ms = ?4 WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        )
        .bind(id.to_string())
        .bind(i64::from(attempt))
        .bind(available_at_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        Ok(finish(requeued.rows_affected()))
    }

    /// At start, before any worker runs: jobs left running by a crashed process go back to
    /// queued, or to failed when they have had `max_attempts` tries already.
    pub async fn recover(
        &self,
        max_attempts: u32,
        now_ms: i64,
    ) -> Result<Recovered, JobStoreError> {
        let mut tx = self.pool.begin().await.map_err(JobStoreError::from_sqlx)?;
        let failed = sqlx::query(
            "UPDATE jobs SET status = 'failed', lease_until_ms = NULL, updated_at_ms = ?2, \
             error = 'gave up: the process stopped during each of its tries' \
             WHERE status = 'running' AND attempts >= ?1",
        )
        .bind(i64::from(max_attempts))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_until_ms = NULL, available_at_ms = ?1, \
             updated_at_ms = ?1 WHERE status = 'running'",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        tx.commit().await.map_err(JobStoreError::from_sqlx)?;
        Ok(Recovered {
            requeued: requeued.rows_affected(),
            failed: failed.rows_affected(),
        })
    }

    /// Jobs queued or running: what the queue bound counts.
    pub async fn outstanding(&self) -> Result<u64, JobStoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(&self.pool)
                .await
                .map_err(JobStoreError::from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes done and failed jobs last changed before `before_ms`; answers how many.
    pub async fn purge(&self, before_ms: i64) -> Result<u64, JobStoreError> {
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at_ms < ?1",
        )
        .bind(before_ms)
        .execute(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        Ok(deleted.rows_affected())
    }

    /// `SELECT 1`.
    pub async fn ping(&self) -> Result<(), JobStoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(JobStoreError::from_sqlx)
    }

    /// Every job's bookkeeping, oldest first (for audits and tests).
    pub async fn audit(&self) -> Result<Vec<AuditRow>, JobStoreError> {
        let rows = sqlx::query(
            "SELECT id, status, attempts, completed_count, json_array_length(input) AS texts, \
             COALESCE(json_array_length(results), 0) AS results FROM jobs \
             ORDER BY created_at_ms, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(JobStoreError::from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    id: parse_id(row)?,
                    status: parse_status(row)?,
                    attempts: count(row, "attempts")?,
                    completed_count: count(row, "completed_count")?,
                    texts: count(row, "texts")? as usize,
                    results: count(row, "results")? as usize,
                })
            })
            .collect()
    }
}

fn finish(rows: u64) -> Finish {
    if rows == 1 {
        Finish::Written
    } else {
        Finish::NotOwner
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn parse_id(row: &SqliteRow) -> Result<JobId, JobStoreError> {
    let id: String = row.try_get("id").map_err(JobStoreError::Failed)?;
    id.parse().map_err(|_| JobStoreError::Corrupt("job id"))
}

fn parse_status(row: &SqliteRow) -> Result<JobStatus, JobStoreError> {
    let status: String = row.try_get("status").map_err(JobStoreError::Failed)?;
    JobStatus::parse(&status).ok_or(JobStoreError::Corrupt("job status"))
}

fn count(row: &SqliteRow, column: &str) -> Result<u32, JobStoreError> {
    let n: i64 = row.try_get(column).map_err(JobStoreError::Failed)?;
    u32::try_from(n).map_err(|_| JobStoreError::Corrupt("negative or huge count"))
}

fn record(row: &SqliteRow) -> Result<JobRecord, JobStoreError> {
    let results: Option<String> = row.try_get("results").map_err(JobStoreError::Failed)?;
    Ok(JobRecord {
        id: parse_id(row)?,
        status: parse_status(row)?,
        request_hash: row.try_get("request_hash").map_err(JobStoreError::Failed)?,
        results: results
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(JobStoreError::Json)?,
        error: row.try_get("error").map_err(JobStoreError::Failed)?,
        attempts: count(row, "attempts")?,
        completed_count: count(row, "completed_count")?,
        created_at_ms: row
            .try_get("created_at_ms")
            .map_err(JobStoreError::Failed)?,
        updated_at_ms: row
            .try_get("updated_at_ms")
            .map_err(JobStoreError::Failed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_recorded_twice_keeps_its_first_results() {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open_in(dir.path()).await.unwrap();
        let job = NewJob {
            id: JobId::generate(),
            idempotency_key: None,
            request_hash: "h".into(),
            texts: vec!["a".into()],
            correlation_id: "c".into(),
            created_at_ms: 1,
        };
        let first = serde_json::json!([{"label": "positive"}]);
        let second = serde_json::json!([{"label": "negative"}]);
        let stored = store.record_done(&job, &first, 2).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.results.as_ref()),
            (JobStatus::Done, Some(&first))
        );
        let again = store.record_done(&job, &second, 3).await.unwrap().unwrap();
        assert_eq!(again.results, Some(first));
        assert_eq!(again.completed_count, 1);
        assert_eq!(store.outstanding().await.unwrap(), 0);
    }
}
