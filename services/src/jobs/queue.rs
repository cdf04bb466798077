//! [`JobQueue`]: the durable queue's handle. It admits jobs (bounded), answers their status, and
//! owns the workers and the janitor.
//!
//! Admission counts the jobs queued or running (`outstanding`, read from the store at start):
//! a job is admitted only while fewer than `max_queued` are outstanding, so the backlog is
//! bounded however fast clients post; a full queue answers 503 with `Retry-After`. The count
//! goes down when a worker's final write takes effect, and the janitor re-reads it from the
//! store every minute (a write whose answer was lost cannot skew it for long).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bulwark_runtime::dependency::{CallContext, DependencyHandle};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::{Runtime, RuntimeError};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::config::JobsConfig;
use super::error::{JobError, STORE_DEPENDENCY};
use super::input::CheckedRequest;
use super::model::{JobId, JobRecord, JobStatus, NewJob, now_ms};
use super::processor::JobProcessor;
use super::store::{Inserted, JobOp, JobReply, JobStore, JobStoreDependency, JobStoreError};
use super::{metrics, worker};

/// How often the janitor deletes expired jobs and re-reads the outstanding count.
const JANITOR_PERIOD: Duration = Duration::from_secs(60);

/// The queue could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobsStartError {
    /// The configuration is out of range.
    #[error("invalid jobs configuration")]
    Config(#[from] super::config::InvalidJobsConfig),
    /// The store could not be opened, migrated or recovered.
    #[error("cannot open the job store")]
    Store(#[from] JobStoreError),
    /// The runtime refused the store's dependency.
    #[error("cannot register the job store")]
    Register(#[from] RuntimeError),
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The job.
    pub id: JobId,
    /// Its status now.
    pub status: JobStatus,
    /// `true` when this request created it, `false` when its idempotency key found it.
    pub created: bool,
}

/// What workers and the handle share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) store: DependencyHandle<JobStoreDependency>,
    pub(super) config: JobsConfig,
    /// Jobs queued or running.
    pub(super) outstanding: AtomicU64,
    /// Wakes an idle worker when a job is queued.
    pub(super) wake: Notify,
    /// Which job each worker holds (index → job, try), for a stop that cannot wait.
    pub(super) in_flight: Mutex<HashMap<usize, (JobId, u32)>>,
}

impl Shared {
    /// Calls the store with `ctx`, expecting the reply `pick` accepts.
    pub(super) async fn call<T>(
        &self,
        op: JobOp,
        ctx: CallContext,
        pick: impl FnOnce(JobReply) -> Option<T>,
    ) -> Result<T, JobError> {
        let reply = self.store.call(op, ctx).await.map_err(JobError::Store)?;
        pick(reply).ok_or(JobError::UnexpectedReply)
    }

    /// One job fewer is outstanding.
    pub(super) fn release(&self) {
        if let Ok(was) = self
            .outstanding
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        {
            metrics::outstanding(was.saturating_sub(1));
        }
    }

    pub(super) fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<usize, (JobId, u32)>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The durable job queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JobQueue {
    shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
    tasks: Arc<Mutex<Option<JoinSet<()>>>>,
}

impl JobQueue {
    /// Opens `<data_dir>/jobs.sqlite` (migrating it), puts jobs left running by a previous
    /// process back in the queue, registers the store on `runtime` as `jobs.store` with
    /// `policy` (default: the user store's policy), and starts `config.workers` workers running
    /// `processor`.
    pub async fn start<P: JobProcessor>(
        runtime: &Runtime,
        config: &JobsConfig,
        data_dir: &Path,
        processor: P,
        policy: Option<Policy>,
    ) -> Result<Self, JobsStartError> {
        config.validate()?;
        let store = JobStore::open_in(data_dir).await?;
        let recovered = store.recover(config.max_attempts, now_ms()).await?;
        let outstanding = store.outstanding().await?;
        tracing::info!(
            requeued = recovered.requeued,
            failed = recovered.failed,
            outstanding,
            workers = config.workers,
            max_queued = config.max_queued,
            "job queue opened"
        );
        let policy = policy.unwrap_or_else(crate::auth::store::default_store_policy);
        let handle = runtime
            .add(STORE_DEPENDENCY, JobStoreDependency::new(store), policy)
            .await?;
        let shared = Arc::new(Shared {
            store: handle,
            config: config.clone(),
            outstanding: AtomicU64::new(outstanding),
            wake: Notify::new(),
            in_flight: Mutex::new(HashMap::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let processor = Arc::new(processor);
        let mut tasks = JoinSet::new();
        for index in 0..config.workers {
            tasks.spawn(worker::run(
                index,
                Arc::clone(&shared),
                Arc::clone(&processor),
                stopped.clone(),
            ));
        }
        tasks.spawn(janitor(Arc::clone(&shared), stopped));
        Ok(Self {
            shared,
            stop: Arc::new(stop),
            tasks: Arc::new(Mutex::new(Some(tasks))),
        })
    }

    /// Stores a checked request as a new job — committed before this returns — or answers the
    /// job its idempotency key already names.
    pub async fn submit(
        &self,
        ctx: &CallContext,
        request: CheckedRequest,
    ) -> Result<Submitted, JobError> {
        if *self.stop.borrow() {
            metrics::rejected("stopping");
            return Err(JobError::Stopping);
        }
        if let Some(key) = &request.idempotency_key {
            let op = JobOp::FindByKey(Arc::from(key.as_str()));
            let found = self.shared.call(op, ctx.clone(), found).await?;
            if let Some(existing) = found {
                return repeat(&existing, &request.request_hash);
            }
        }
        let place = self.admit()?;
        let job = Arc::new(NewJob {
            id: JobId::generate(),
            idempotency_key: request.idempotency_key,
            request_hash: request.request_hash,
            texts: request.texts,
            correlation_id: ctx.correlation_id().to_string(),
            created_at_ms: now_ms(),
        });
        let inserted = self
            .shared
            .call(
                JobOp::Insert(Arc::clone(&job)),
                ctx.clone(),
                |reply| match reply {
                    JobReply::Inserted(inserted) => Some(inserted),
                    _ => None,
                },
            )
            .await;
        match inserted {
            Ok(Inserted::Created) => {
                place.keep();
                metrics::accepted();
                self.shared.wake.notify_one();
                Ok(Submitted {
                    id: job.id,
                    status: JobStatus::Queued,
                    created: true,
                })
            }
            // The place goes back when `place` is dropped: here, or when the request is
            // cancelled (client gone, deadline passed) while the insert is under way.
            Ok(Inserted::Existing(existing)) => repeat(&existing, &job.request_hash),
            Err(error) => Err(error),
        }
    }

    /// The job `id`.
    pub async fn get(&self, ctx: &CallContext, id: JobId) -> Result<JobRecord, JobError> {
        self.shared
            .call(JobOp::Get(id), ctx.clone(), found)
            .await?
            .ok_or(JobError::NotFound)
    }

    /// Stores a job processed outside this queue's workers (taken from the broker's work
    /// queue) as done with `results`, unless `id` is stored already, and answers the stored
    /// job: the first results written win. It takes no place in the queue.
    pub async fn record_done(
        &self,
        ctx: &CallContext,
        id: JobId,
        request: CheckedRequest,
        results: serde_json::Value,
    ) -> Result<JobRecord, JobError> {
        let job = Arc::new(NewJob {
            id,
            idempotency_key: None,
            request_hash: request.request_hash,
            texts: request.texts,
            correlation_id: ctx.correlation_id().to_string(),
            created_at_ms: now_ms(),
        });
        let op = JobOp::RecordDone {
            job,
            results: Arc::new(results),
            now_ms: now_ms(),
        };
        self.shared
            .call(op, ctx.clone(), found)
            .await?
            .ok_or(JobError::NotFound)
    }

    /// The job `id`, if stored.
    pub async fn find(&self, ctx: &CallContext, id: JobId) -> Result<Option<JobRecord>, JobError> {
        self.shared.call(JobOp::Get(id), ctx.clone(), found).await
    }

    /// Jobs queued or running.
    pub fn outstanding(&self) -> u64 {
        self.shared.outstanding.load(Ordering::Acquire)
    }

    /// The configuration.
    pub fn config(&self) -> &JobsConfig {
        &self.shared.config
    }

    /// Stops accepting jobs and stops the workers: a job in flight finishes if it can within
    /// `shutdown_grace`, else it is put back in the queue for the next start (a job the store
    /// cannot be told about stays running in the store, and the next start requeues it).
    /// Call before the runtime shuts down (the store is one of its dependencies).
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let tasks = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut tasks) = tasks else {
            return;
        };
        let grace = self.shared.config.shutdown_grace;
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_ok() {
            tracing::info!("job workers stopped");
            return;
        }
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let left: Vec<_> = self
            .shared
            .in_flight()
            .drain()
            .map(|(_, job)| job)
            .collect();
        for (id, attempt) in left {
            let now = now_ms();
            let op = JobOp::Requeue {
                id,
                attempt,
                available_at_ms: now,
                now_ms: now,
            };
            let requeued = self
                .shared
                .call(op, CallContext::untracked(), |r| match r {
                    JobReply::Finished(f) => Some(f),
                    _ => None,
                })
                .await;
            match requeued {
                Ok(_) => tracing::info!(job_id = %id, "job put back in the queue at stop"),
                Err(error) => tracing::warn!(
                    job_id = %id,
                    error = %bulwark_runtime::error::chain(&error),
                    "job left running at stop: the next start requeues it"
                ),
            }
        }
    }

    /// Takes one place in the queue, or refuses.
    fn admit(&self) -> Result<Place<'_>, JobError> {
        let max = self.shared.config.max_queued;
        self.shared
            .outstanding
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|was| {
                metrics::outstanding(was + 1);
                Place {
                    shared: &self.shared,
                    kept: false,
                }
            })
            .map_err(|_| {
                metrics::rejected("full");
                JobError::QueueFull { max_queued: max }
            })
    }
}

/// A place taken in the queue for a job being stored: given back when dropped, unless kept
/// (the job was stored; a worker's final write gives it back).
struct Place<'a> {
    shared: &'a Shared,
    kept: bool,
}

impl Place<'_> {
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.shared.release();
        }
    }
}

fn found(reply: JobReply) -> Option<Option<JobRecord>> {
    match reply {
        JobReply::Found(record) => Some(record),
        _ => None,
    }
}

/// The answer to a repeated idempotency key: the same job, unless the texts differ.
fn repeat(existing: &JobRecord, request_hash: &str) -> Result<Submitted, JobError> {
    if existing.request_hash != request_hash {
        return Err(JobError::KeyConflict);
    }
    Ok(Submitted {
        id: existing.id,
        status: existing.status,
        created: false,
    })
}

/// Every [`JANITOR_PERIOD`] until the queue stops: deletes finished jobs past their retention
/// and re-reads the outstanding count. The count is replaced only if no admission or release
/// happened during the read, so a job accepted meanwhile is never forgotten by the bound.
async fn janitor(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let retention = i64::try_from(shared.config.retention.as_millis()).unwrap_or(i64::MAX);
    let count = |r| match r {
        JobReply::Count(n) => Some(n),
        _ => None,
    };
    metrics::outstanding(shared.outstanding.load(Ordering::Acquire));
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(JANITOR_PERIOD) => {}
        }
        let before = now_ms().saturating_sub(retention);
        let ctx = CallContext::untracked();
        match shared.call(JobOp::Purge(before), ctx.clone(), count).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired jobs deleted"),
            Err(error) => tracing::warn!(
                error = %bulwark_runtime::error::chain(&error),
                "expired jobs not deleted"
            ),
        }
        let seen = shared.outstanding.load(Ordering::Acquire);
        if let Ok(n) = shared.call(JobOp::Outstanding, ctx, count).await
            && n != seen
        {
            let replaced = shared
                .outstanding
                .compare_exchange(seen, n, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if replaced {
                tracing::info!(counted = seen, stored = n, "outstanding jobs re-read");
            }
        }
        // Also after a start that ran before the metrics recorder was installed.
        metrics::outstanding(shared.outstanding.load(Ordering::Acquire));
    }
}
