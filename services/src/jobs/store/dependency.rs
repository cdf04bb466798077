//! [`JobStoreDependency`]: the [`JobStore`] as a Bulwark dependency, so the job store has its own
//! breaker, bulkhead, retries, deadline, metrics and health probe like the user store.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError, Probe};

use super::{Finish, Inserted, JobStore, JobStoreError};
use crate::jobs::model::{ClaimedJob, JobId, JobRecord, NewJob};

/// One operation on the store. Cheap to clone (the guard clones it per retried attempt).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JobOp {
    /// Store a new job (safe to retry: see [`JobStore::insert`]).
    Insert(Arc<NewJob>),
    /// Read a job.
    Get(JobId),
    /// Store a job processed elsewhere as done, unless its id is stored (safe to retry).
    RecordDone {
        /// The job.
        job: Arc<NewJob>,
        /// One result per text.
        results: Arc<serde_json::Value>,
        /// Now, Unix milliseconds.
        now_ms: i64,
    },
    /// Read the job under an idempotency key.
    FindByKey(Arc<str>),
    /// Claim the next job (not safe to retry blindly: call it non-idempotent).
    Claim {
        /// Now, Unix milliseconds.
        now_ms: i64,
        /// How long the claim holds.
        lease: Duration,
    },
    /// Write a try's results.
    Complete {
        /// The job.
        id: JobId,
        /// The try.
        attempt: u32,
        /// One result per text.
        results: Arc<serde_json::Value>,
        /// Now, Unix milliseconds.
        now_ms: i64,
    },
    /// Mark a try failed for good.
    Fail {
        /// The job.
        id: JobId,
        /// The try.
        attempt: u32,
        /// Why (shown to the client: no internals).
        error: Arc<str>,
        /// Now, Unix milliseconds.
        now_ms: i64,
    },
    /// Put a try back in the queue.
    Requeue {
        /// The job.
        id: JobId,
        /// The try.
        attempt: u32,
        /// When it may run again, Unix milliseconds.
        available_at_ms: i64,
        /// Now, Unix milliseconds.
        now_ms: i64,
    },
    /// Count queued and running jobs.
    Outstanding,
    /// Delete finished jobs older than the given time (Unix milliseconds).
    Purge(i64),
    /// `SELECT 1`.
    Ping,
}

/// The answer to a [`JobOp`].
#[derive(Debug)]
#[non_exhaustive]
pub enum JobReply {
    /// To [`JobOp::Insert`].
    Inserted(Inserted),
    /// To [`JobOp::Get`], [`JobOp::FindByKey`] and [`JobOp::RecordDone`].
    Found(Option<JobRecord>),
    /// To [`JobOp::Claim`].
    Claimed(Option<ClaimedJob>),
    /// To [`JobOp::Complete`], [`JobOp::Fail`] and [`JobOp::Requeue`].
    Finished(Finish),
    /// To [`JobOp::Outstanding`] and [`JobOp::Purge`].
    Count(u64),
    /// To [`JobOp::Ping`].
    Pong,
}

/// The store wrapped for the runtime.
#[derive(Debug, Clone)]
pub struct JobStoreDependency {
    store: JobStore,
}

impl JobStoreDependency {
    /// Wraps `store`.
    pub fn new(store: JobStore) -> Self {
        Self { store }
    }

    /// The wrapped store.
    pub fn store(&self) -> &JobStore {
        &self.store
    }
}

impl From<JobStoreError> for DependencyError {
    /// An unavailable store (or a key freed during the insert) is a transient failure (retried,
    /// counted by the breaker); other failures are permanent. Neither carries a job's text.
    fn from(error: JobStoreError) -> Self {
        match error {
            JobStoreError::Unavailable(_) | JobStoreError::KeyRaced => {
                DependencyError::transient(error)
            }
            _ => DependencyError::permanent(error),
        }
    }
}

impl Dependency for JobStoreDependency {
    type Request = JobOp;
    type Response = JobReply;

    async fn call(&self, op: JobOp, _ctx: &CallContext) -> Result<JobReply, DependencyError> {
        let store = &self.store;
        let reply = match op {
            JobOp::Insert(job) => JobReply::Inserted(store.insert(&job).await?),
            JobOp::Get(id) => JobReply::Found(store.get(id).await?),
            JobOp::RecordDone {
                job,
                results,
                now_ms,
            } => JobReply::Found(store.record_done(&job, &results, now_ms).await?),
            JobOp::FindByKey(key) => JobReply::Found(store.find_by_key(&key).await?),
            JobOp::Claim { now_ms, lease } => JobReply::Claimed(store.claim(now_ms, lease).await?),
            JobOp::Complete {
                id,
                attempt,
                results,
                now_ms,
            } => JobReply::Finished(store.complete(id, attempt, &results, now_ms).await?),
            JobOp::Fail {
                id,
                attempt,
                error,
                now_ms,
            } => JobReply::Finished(store.fail(id, attempt, &error, now_ms).await?),
            JobOp::Requeue {
                id,
                attempt,
                available_at_ms,
                now_ms,
            } => JobReply::Finished(store.requeue(id, attempt, available_at_ms, now_ms).await?),
            JobOp::Outstanding => JobReply::Count(store.outstanding().await?),
            JobOp::Purge(before_ms) => JobReply::Count(store.purge(before_ms).await?),
            JobOp::Ping => {
                store.ping().await?;
                JobReply::Pong
            }
        };
        Ok(reply)
    }

    async fn probe(&self, _ctx: &CallContext) -> Probe {
        match self.store.ping().await {
            Ok(()) => Probe::Healthy,
            Err(e) => Probe::Unhealthy(e.into()),
        }
    }
}
