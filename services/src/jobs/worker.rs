//! One worker: claim the oldest available job, process it, write the outcome fenced by the try
//! number; when nothing is available, wait for a new job, the poll interval or the stop.
//!
//! A try that fails transiently (a dependency unavailable, the try's time limit, a panic in
//! the processor) goes back to the queue after `retry_backoff × try` until `max_attempts`; a
//! permanent failure, or the last try, marks the job failed with the processor's message.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::chain;
use futures::FutureExt;
use tokio::sync::watch;
use tracing::Instrument;

use super::error::JobError;
use super::metrics;
use super::model::{ClaimedJob, now_ms};
use super::processor::{JobProcessor, ProcessError};
use super::queue::Shared;
use super::store::{Finish, JobOp, JobReply};

/// The outcome of one try, before it is written.
enum Outcome {
    Done(serde_json::Value),
    Retry { reason: String },
    Failed { reason: String },
}

/// Runs worker `index` until the queue stops. A job in hand is finished before the stop is seen.
pub(super) async fn run<P: JobProcessor>(
    index: usize,
    shared: Arc<Shared>,
    processor: Arc<P>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        // Registered before the claim, so a job queued between the claim and the wait wakes us.
        let woken = shared.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match claim(&shared).await {
            Ok(Some(job)) => {
                let span = tracing::info_span!(
                    "job",
                    job_id = %job.id,
                    attempt = job.attempt,
                    correlation_id = %job.correlation_id,
                );
                handle(index, &shared, &*processor, job)
                    .instrument(span)
                    .await;
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %chain(&error), "cannot claim a job: retrying later");
            }
        }
        tokio::select! {
            () = &mut woken => {}
            changed = stop.changed() => {
                // Every handle to the queue is gone: nobody can stop us any more, so stop.
                if changed.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(shared.config.poll_interval) => {}
        }
    }
}

async fn claim(shared: &Shared) -> Result<Option<ClaimedJob>, JobError> {
    let op = JobOp::Claim {
        now_ms: now_ms(),
        lease: shared.config.lease(),
    };
    // A claim whose answer is lost must not be repeated blindly: the job it took would sit
    // running until its lease expires. Non-idempotent calls are retried only when the store was
    // certainly not reached.
    let ctx = CallContext::untracked()
        .with_priority(Priority::NonCritical)
        .idempotent(false);
    shared
        .call(op, ctx, |reply| match reply {
            JobReply::Claimed(job) => Some(job),
            _ => None,
        })
        .await
}

async fn handle<P: JobProcessor>(index: usize, shared: &Shared, processor: &P, job: ClaimedJob) {
    shared.in_flight().insert(index, (job.id, job.attempt));
    let correlation_id =
        CorrelationId::parse(&job.correlation_id).unwrap_or_else(CorrelationId::generate);
    let ctx = CallContext::new(correlation_id).with_priority(Priority::NonCritical);
    let outcome = if job.attempt > shared.config.max_attempts {
        Outcome::Failed {
            reason: format!("gave up after {} tries", shared.config.max_attempts),
        }
    } else {
        process(shared, processor, &ctx, &job).await
    };
    write(shared, &ctx, &job, outcome).await;
    shared.in_flight().remove(&index);
}

async fn process<P: JobProcessor>(
    shared: &Shared,
    processor: &P,
    ctx: &CallContext,
    job: &ClaimedJob,
) -> Outcome {
    let limit = shared.config.job_timeout;
    let try_ctx = ctx.clone().with_timeout(limit);
    let work = AssertUnwindSafe(processor.process(&try_ctx, &job.texts)).catch_unwind();
    let failure = match tokio::time::timeout(limit, work).await {
        Ok(Ok(Ok(outputs))) if outputs.len() == job.texts.len() => {
            return match serde_json::to_value(outputs) {
                Ok(results) => Outcome::Done(results),
                Err(error) => {
                    tracing::error!(error = %error, "job results cannot be encoded");
                    Outcome::Failed {
                        reason: "Results could not be encoded".to_owned(),
                    }
                }
            };
        }
        Ok(Ok(Ok(outputs))) => {
            tracing::error!(
                results = outputs.len(),
                texts = job.texts.len(),
                "processor answered the wrong number of results"
            );
            ProcessError::permanent("Processing answered the wrong number of results")
        }
        Ok(Ok(Err(error))) => error,
        Ok(Err(panic)) => {
            let text = bulwark_runtime::error::panic_text(&*panic);
            tracing::error!(panic = %text, "job processor panicked");
            ProcessError::retryable("Processing failed")
        }
        Err(_) => ProcessError::retryable("Processing timed out"),
    };
    tracing::warn!(error = %chain(&failure), transient = failure.is_transient(), "job try failed");
    if failure.is_transient() && job.attempt < shared.config.max_attempts {
        Outcome::Retry {
            reason: failure.message().to_owned(),
        }
    } else {
        Outcome::Failed {
            reason: failure.message().to_owned(),
        }
    }
}

async fn write(shared: &Shared, ctx: &CallContext, job: &ClaimedJob, outcome: Outcome) {
    let now = now_ms();
    let (op, what) = match outcome {
        Outcome::Done(results) => (
            JobOp::Complete {
                id: job.id,
                attempt: job.attempt,
                results: Arc::new(results),
                now_ms: now,
            },
            "done",
        ),
        Outcome::Failed { reason } => (
            JobOp::Fail {
                id: job.id,
                attempt: job.attempt,
                error: Arc::from(reason),
                now_ms: now,
            },
            "failed",
        ),
        Outcome::Retry { reason } => {
            let backoff = shared
                .config
                .retry_backoff
                .saturating_mul(job.attempt)
                .min(Duration::from_secs(300));
            let delay = i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX);
            tracing::info!(reason, backoff_ms = delay, "job queued again");
            (
                JobOp::Requeue {
                    id: job.id,
                    attempt: job.attempt,
                    available_at_ms: now.saturating_add(delay),
                    now_ms: now,
                },
                "queued again",
            )
        }
    };
    let terminal = !matches!(op, JobOp::Requeue { .. });
    let written = shared
        .call(op, ctx.clone(), |reply| match reply {
            JobReply::Finished(finish) => Some(finish),
            _ => None,
        })
        .await;
    match written {
        Ok(Finish::Written) => {
            if terminal {
                shared.release();
                metrics::finished(if what == "done" { "done" } else { "failed" });
            } else {
                metrics::retried();
            }
            if what == "done" {
                tracing::debug!(outcome = what, "job written");
            } else {
                tracing::info!(outcome = what, "job written");
            }
        }
        Ok(Finish::NotOwner) => {
            tracing::warn!(
                outcome = what,
                "job no longer held by this try: outcome dropped"
            );
        }
        Err(error) => tracing::warn!(
            outcome = what,
            error = %chain(&error),
            "job outcome not written: the job is tried again when its lease expires"
        ),
    }
}
