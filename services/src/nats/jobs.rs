//! Sentiment jobs over JetStream: a work-queue stream (`BULWARK_JOBS`, subjects
//! `bulwark.v1.jobs.*`) with one durable pull consumer that every node pulls from.
//!
//! A node pulls only as many jobs as its bulkhead has free places (none while it is full: no
//! job waits in a node's memory, it waits in the stream). For each job it:
//! 1. answers from its job store when the job is stored there already (a redelivery after a
//!    lost ack: nothing is computed twice on one node);
//! 2. runs the sentiment pipeline (model pool, cache, rule-based fallback — what
//!    `POST /v1/sentiment/jobs` runs);
//! 3. stores the results in the job store (`GET /v1/sentiment/jobs/{id}` answers them);
//! 4. publishes the job's view — the body that GET answers — on
//!    `bulwark.v1.jobs.results.<job_id>`;
//! 5. and only then acks. A node killed anywhere before the ack leaves the job unacked, and
//!    JetStream delivers it again after `job_ack_wait` to whichever node pulls next.
//!
//! Delivery is at least once: a node killed between its publish and its ack makes a second
//! node publish the job's results again, so clients keep the first result per job id (both
//! carry the same job id, texts and labels). A malformed job is answered with a 400 error on
//! its results subject (when its id can be read) and terminated, never redelivered; a transient
//! failure is nak'ed with a delay, and on its last delivery answered with the error.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::stream::{Config as StreamConfig, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Message};
use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::{ServiceError, chain};
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::Instrument;

use super::connection::reconnect_delay;
use super::envelope::{Envelope, Outgoing};
use super::requests::Shared;
use crate::jobs::processor::JobProcessor;
use crate::jobs::routes::JobView;
use crate::jobs::{JobId, JobQueue, JobRequest, JobStatus};
use crate::sentiment::SentimentService;

/// The work-queue stream.
pub const STREAM: &str = "BULWARK_JOBS";
/// Its subjects.
pub const STREAM_SUBJECTS: &str = "bulwark.v1.jobs.*";
/// Where clients publish sentiment jobs.
pub const SUBMIT: &str = "bulwark.v1.jobs.sentiment";
/// Results are published on `bulwark.v1.jobs.results.<job_id>` (outside the stream: two tokens
/// after `jobs`).
pub const RESULTS_PREFIX: &str = "bulwark.v1.jobs.results";
/// The durable consumer every node shares.
pub const CONSUMER: &str = "bulwark";

/// Most jobs asked for in one pull.
const MAX_PULL: usize = 64;
/// How long one pull waits for jobs before it is asked again.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
/// How long an ack may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a job refused or failed transiently waits before it is delivered again.
const NAK_DELAY: Duration = Duration::from_secs(1);

/// A job message: the client chooses the id (a UUID) so it can listen for the result before
/// publishing, and sends it as `Nats-Msg-Id` too, so a retried publish is stored once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    /// The job's id (a UUID).
    pub job_id: String,
    /// 1 to 256 texts, each 1 to 10,000 characters once trimmed.
    pub texts: Vec<String>,
}

/// The results subject of `job_id`.
pub fn results_subject(job_id: &str) -> String {
    format!("{RESULTS_PREFIX}.{job_id}")
}

/// What the job loop needs besides the request loop's [`Shared`].
#[derive(Debug, Clone)]
pub struct JobsContext {
    /// The store results are kept in.
    pub queue: JobQueue,
    /// What processes a job.
    pub sentiment: SentimentService,
    /// One job's time limit.
    pub job_timeout: Duration,
    /// Ack wait of the consumer (when it is created by this node).
    pub ack_wait: Duration,
    /// Deliveries of one job at most.
    pub max_deliver: i64,
    /// Backoff cap while the stream cannot be set up.
    pub retry_max_delay: Duration,
}

/// Pulls and processes jobs until `stop`. Sets up the stream and the consumer (idempotent on
/// every node) whenever it has none, waiting for the connection and backing off on failures.
pub async fn run(
    shared: Arc<Shared>,
    jobs: JobsContext,
    mut up: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let js = jetstream::new(shared.publisher.client().clone());
    let mut failures = 0;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            _ = up.wait_for(|connected| *connected) => {}
        }
        let outcome = match consumer(&js, &jobs).await {
            Ok(consumer) => {
                failures = 0;
                pull(&shared, &jobs, &consumer, &mut stop).await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => return,
            Err(error) => {
                failures += 1;
                tracing::warn!(error = %chain(&*error), "job pulling interrupted: retrying");
                let wait = reconnect_delay(failures, jobs.retry_max_delay);
                tokio::select! {
                    _ = stop.wait_for(|stopped| *stopped) => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn consumer(js: &jetstream::Context, jobs: &JobsContext) -> Result<PullConsumer, BoxError> {
    let stream = js
        .get_or_create_stream(StreamConfig {
            name: STREAM.to_owned(),
            subjects: vec![STREAM_SUBJECTS.to_owned()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..StreamConfig::default()
        })
        .await?;
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            PullConfig {
                durable_name: Some(CONSUMER.to_owned()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: jobs.ack_wait,
                max_deliver: jobs.max_deliver,
                ..PullConfig::default()
            },
        )
        .await?;
    Ok(consumer)
}

/// Pulls while places are free; returns on stop, or with the error that broke the pulling.
///
/// No place is held while a pull waits for jobs (an idle puller would take places from
/// requests): the loop waits until one is free, asks for as many jobs as are free, and takes a
/// place per job as it arrives. A job that finds none (requests took them meanwhile) is
/// refused — nak'ed for another node — and the pull is dropped until a place is free again.
async fn pull(
    shared: &Arc<Shared>,
    jobs: &JobsContext,
    consumer: &PullConsumer,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), BoxError> {
    loop {
        // Waits while the bulkhead is full: a full node pulls nothing.
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
            place = shared.places.acquire() => drop(place?),
        };
        let free = shared.places.available_permits().clamp(1, MAX_PULL);
        let mut batch = consumer
            .batch()
            .max_messages(free)
            .expires(PULL_EXPIRES)
            .messages()
            .await?;
        loop {
            let next = tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
                next = batch.next() => next,
            };
            let Some(message) = next else { break };
            let message = message?;
            let envelope = Envelope::read(message.headers.as_ref(), jobs.job_timeout);
            let span = tracing::info_span!(
                "nats_job",
                correlation_id = %envelope.correlation_id,
            );
            match Arc::clone(&shared.places).try_acquire_owned() {
                Ok(place) => {
                    let task = handle(Arc::clone(shared), jobs.clone(), message, envelope);
                    tokio::spawn(
                        async move {
                            task.await;
                            drop(place);
                        }
                        .instrument(span),
                    );
                }
                Err(_) => {
                    refuse(shared, jobs, message, envelope)
                        .instrument(span)
                        .await;
                    break;
                }
            }
        }
    }
}

/// What became of one delivery.
enum Settle {
    /// Done: stored and published.
    Ack,
    /// Refused for good and answered: never deliver again.
    Term,
    /// Failed transiently: deliver again later.
    Retry,
}

async fn handle(shared: Arc<Shared>, jobs: JobsContext, message: Message, envelope: Envelope) {
    let ctx = envelope.context(Priority::NonCritical);
    let settle = process(&shared, &jobs, &message, &envelope, &ctx).await;
    acknowledge(&shared, ctx, &message, settle).await;
}

/// A job delivered to a full node: delivered again later (to any node), or on its last
/// delivery answered 503 — never silence.
async fn refuse(shared: &Shared, jobs: &JobsContext, message: Message, envelope: Envelope) {
    let ctx = envelope.context(Priority::NonCritical);
    let settle = match envelope.decode::<JobMessage>(&message.payload) {
        Ok(job) => {
            let error = super::requests::overloaded("nats.jobs");
            transient(shared, jobs.max_deliver, &message, &ctx, &job.job_id, error).await
        }
        Err(_) => Settle::Term,
    };
    acknowledge(shared, ctx, &message, settle).await;
}

/// Settles a delivery, with a deadline of its own (the job's may have been spent on the work).
async fn acknowledge(shared: &Shared, ctx: CallContext, message: &Message, settle: Settle) {
    let ctx = CallContext::new(ctx.correlation_id().clone()).with_timeout(ACK_TIMEOUT);
    let (kind, outcome) = match settle {
        Settle::Ack => (AckKind::Ack, "ack"),
        Settle::Term => (AckKind::Term, "term"),
        Settle::Retry => (AckKind::Nak(Some(NAK_DELAY)), "retry"),
    };
    metrics::counter!(super::requests::JOBS_TOTAL, "outcome" => outcome).increment(1);
    let acked = shared.publisher.run(ctx, || message.ack_with(kind)).await;
    if let Err(error) = acked {
        tracing::warn!(error = %chain(&error), "job not acknowledged: it will be delivered again");
    }
}

async fn process(
    shared: &Shared,
    jobs: &JobsContext,
    message: &Message,
    envelope: &Envelope,
    ctx: &CallContext,
) -> Settle {
    let id = &envelope.correlation_id;
    let job: JobMessage = match envelope.decode(&message.payload) {
        Ok(job) => job,
        Err(error) => {
            // No readable id, so no subject to answer on.
            tracing::warn!(error = %error, "malformed job message terminated");
            return Settle::Term;
        }
    };
    let answer_error = |error: ServiceError| {
        let reply = Outgoing::error(&error, id, &shared.node);
        publish(shared, ctx, &job.job_id, reply)
    };
    let Ok(job_id) = job.job_id.parse::<JobId>() else {
        let error = ServiceError::validation_field("job_id", "must be a UUID");
        // An id that is not a UUID may still be a valid subject token; answer when it is.
        if is_token(&job.job_id) {
            answer_error(error).await;
        }
        return Settle::Term;
    };
    let request = JobRequest {
        texts: job.texts.clone(),
        idempotency_key: None,
    };
    let checked = match request.check() {
        Ok(checked) => checked,
        Err(details) => {
            answer_error(ServiceError::from(crate::jobs::JobError::Validation(
                details,
            )))
            .await;
            return Settle::Term;
        }
    };
    // A redelivery of a job this node already finished: answer from the store.
    match jobs.queue.find(ctx, job_id).await {
        Ok(Some(record)) if record.status == JobStatus::Done => {
            return finish(shared, ctx, &job.job_id, envelope, JobView::from(record)).await;
        }
        Ok(_) => {}
        Err(error) => {
            return transient(
                shared,
                jobs.max_deliver,
                message,
                ctx,
                &job.job_id,
                error.into(),
            )
            .await;
        }
    }
    let work = AssertUnwindSafe(jobs.sentiment.process(ctx, &checked.texts)).catch_unwind();
    let results = match tokio::time::timeout(jobs.job_timeout, work).await {
        Ok(Ok(Ok(results))) => results,
        Ok(Ok(Err(failed))) if !failed.is_transient() => {
            answer_error(ServiceError::Processing {
                message: failed.message().to_owned(),
                details: Default::default(),
            })
            .await;
            return Settle::Term;
        }
        Ok(Ok(Err(failed))) => {
            let error = super::requests::overloaded("sentiment");
            tracing::warn!(error = %chain(&failed), "job failed: will be tried again");
            return transient(shared, jobs.max_deliver, message, ctx, &job.job_id, error).await;
        }
        Ok(Err(_panic)) => {
            tracing::error!("job processing panicked: will be tried again");
            let error = ServiceError::system(JobPanicked);
            return transient(shared, jobs.max_deliver, message, ctx, &job.job_id, error).await;
        }
        Err(_) => {
            let error = super::requests::overloaded("sentiment");
            return transient(shared, jobs.max_deliver, message, ctx, &job.job_id, error).await;
        }
    };
    let results = match serde_json::to_value(results) {
        Ok(results) => results,
        Err(error) => {
            answer_error(ServiceError::system(error)).await;
            return Settle::Term;
        }
    };
    match jobs.queue.record_done(ctx, job_id, checked, results).await {
        Ok(record) => finish(shared, ctx, &job.job_id, envelope, JobView::from(record)).await,
        Err(error) => {
            transient(
                shared,
                jobs.max_deliver,
                message,
                ctx,
                &job.job_id,
                error.into(),
            )
            .await
        }
    }
}

/// Publishes the job's results; acks only once they are out (else it is delivered again and
/// the store answers it).
async fn finish(
    shared: &Shared,
    ctx: &CallContext,
    job_id: &str,
    envelope: &Envelope,
    view: JobView,
) -> Settle {
    // The job view holds free-form JSON results: always JSON, whatever the job came in.
    let json = Envelope {
        codec: Ok(super::codec::Codec::Json),
        ..envelope.clone()
    };
    let reply = Outgoing::answer(&json, &shared.node, &view);
    if publish(shared, ctx, job_id, reply).await {
        Settle::Ack
    } else {
        Settle::Retry
    }
}

/// A failure another delivery may not see: delivered again, and answered when this was the
/// last delivery JetStream will make.
async fn transient(
    shared: &Shared,
    max_deliver: i64,
    message: &Message,
    ctx: &CallContext,
    job_id: &str,
    error: ServiceError,
) -> Settle {
    // The consumer's limit is the configured one, unless another node created it differently.
    let last = message
        .info()
        .is_ok_and(|info| info.delivered >= max_deliver);
    if last {
        let reply = Outgoing::error(&error, ctx.correlation_id(), &shared.node);
        publish(shared, ctx, job_id, reply).await;
        return Settle::Term;
    }
    Settle::Retry
}

async fn publish(shared: &Shared, ctx: &CallContext, job_id: &str, reply: Outgoing) -> bool {
    let subject = results_subject(job_id);
    match shared
        .publisher
        .publish(ctx.clone(), subject.into(), reply.headers, reply.payload)
        .await
    {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = %chain(&error), "job result not published");
            false
        }
    }
}

/// A NATS subject token: printable ASCII without `.`, `*`, `>` or whitespace.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'.' | b'*' | b'>'))
}

/// A job's processing panicked (its text is in the log).
#[derive(Debug, thiserror::Error)]
#[error("job processing panicked")]
struct JobPanicked;
