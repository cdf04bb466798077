//! Serving one request subject in the queue group: every request gets a reply — its answer, a
//! standard error, or at once a 503 when this node's bulkhead is full — published through the
//! `nats` guard.
//!
//! The loop never waits for a place: a full node answers 503 `DEPENDENCY_ERROR` with
//! `Retry-After` instead of letting requests sit in the subscription's buffer until the client
//! gives up (silence tells a client nothing; a 503 tells it to try again, and the queue group
//! will likely route the retry to another node).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Message, Subscriber};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{DependencyFailure, Details, ServiceError};
use futures::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use super::connection::Publisher;
use super::envelope::{Envelope, Outgoing, STATUS};
use super::subjects::{Request, Route};

/// What every request task shares.
#[derive(Debug)]
pub struct Shared {
    /// Publishes replies.
    pub publisher: Publisher,
    /// The node's bulkhead: requests and jobs in flight.
    pub places: Arc<Semaphore>,
    /// This node's name.
    pub node: Arc<str>,
    /// A request's deadline unless it asks for less.
    pub request_timeout: Duration,
}

/// Requests answered over NATS, by `subject` and `status` (200 or the error's status).
pub const REQUESTS_TOTAL: &str = "bulwark_nats_requests_total";
/// Job deliveries settled, by `outcome` (`ack`, `term`, `retry`).
pub const JOBS_TOTAL: &str = "bulwark_nats_jobs_total";

/// Describes the adapter's series.
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "Requests answered over NATS, by subject and status"
    );
    metrics::describe_counter!(
        JOBS_TOTAL,
        "JetStream job deliveries settled, by outcome (ack, term, retry)"
    );
}

/// How long a full node tells clients to wait.
const RETRY_AFTER_FULL: Duration = Duration::from_secs(1);

/// The answer of a full node.
pub fn overloaded(what: &'static str) -> ServiceError {
    ServiceError::Dependency {
        message: "Service overloaded".to_owned(),
        failure: DependencyFailure::Unavailable,
        details: Details::from([("bulkhead".to_owned(), what.to_owned())]),
        retry_after: Some(RETRY_AFTER_FULL),
        source: None,
    }
}

/// Serves `route` from `subscriber` until `stop`, then unsubscribes (the server stops routing
/// requests here; requests in flight finish on their own tasks).
pub async fn serve(
    mut subscriber: Subscriber,
    route: Route,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            message = subscriber.next() => message,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let Some(message) = message else { break };
        let envelope = Envelope::read(message.headers.as_ref(), shared.request_timeout);
        match Arc::clone(&shared.places).try_acquire_owned() {
            Ok(place) => {
                let span = tracing::info_span!(
                    "nats_request",
                    correlation_id = %envelope.correlation_id,
                    subject = route.subject,
                );
                let task = answer(Arc::clone(&shared), route.clone(), message, envelope, place);
                tokio::spawn(task.instrument(span));
            }
            Err(_) => {
                let error = overloaded("nats.requests");
                let reply = Outgoing::error(&error, &envelope.correlation_id, &shared.node);
                send(
                    &shared,
                    route.subject,
                    &message,
                    &envelope.correlation_id,
                    reply,
                )
                .await;
            }
        }
    }
    if let Err(error) = subscriber.unsubscribe().await {
        tracing::debug!(subject = route.subject, error = %error, "unsubscribe failed");
    }
}

/// Answers one request within its deadline (504 past it, 500 if the handler panics) and holds
/// its place until the reply is handed to the client.
async fn answer(
    shared: Arc<Shared>,
    route: Route,
    message: Message,
    envelope: Envelope,
    _place: OwnedSemaphorePermit,
) {
    let id = envelope.correlation_id.clone();
    let timeout = envelope.timeout;
    let request = Request {
        envelope,
        payload: message.payload.clone(),
        node: Arc::clone(&shared.node),
    };
    let work = AssertUnwindSafe((route.handler)(request)).catch_unwind();
    let reply = match tokio::time::timeout(timeout, work).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(panic)) => {
            let text = bulwark_runtime::error::panic_text(&*panic);
            tracing::error!(panic = %text, "request handler panicked");
            Outgoing::error(&ServiceError::system(HandlerPanicked), &id, &shared.node)
        }
        Err(_) => Outgoing::error(&deadline_passed(), &id, &shared.node),
    };
    send(&shared, route.subject, &message, &id, reply).await;
}

/// A handler panicked (its text is in the log, never in the reply).
#[derive(Debug, thiserror::Error)]
#[error("request handler panicked")]
struct HandlerPanicked;

fn deadline_passed() -> ServiceError {
    ServiceError::Dependency {
        message: "Request deadline exceeded".to_owned(),
        failure: DependencyFailure::Timeout,
        details: Details::new(),
        retry_after: None,
        source: None,
    }
}

/// Publishes `reply` to the request's reply subject (a request without one is logged and
/// dropped: there is nobody to answer).
async fn send(
    shared: &Shared,
    subject: &'static str,
    message: &Message,
    id: &CorrelationId,
    reply: Outgoing,
) {
    let status = reply
        .headers
        .get(STATUS)
        .map_or("200", |value| value.as_str())
        .to_owned();
    metrics::counter!(REQUESTS_TOTAL, "subject" => subject, "status" => status).increment(1);
    let Some(to) = message.reply.clone() else {
        tracing::debug!(subject, "request without a reply subject: not answered");
        return;
    };
    let ctx = bulwark_runtime::dependency::CallContext::new(id.clone())
        .with_timeout(Duration::from_secs(2));
    if let Err(error) = shared
        .publisher
        .publish(ctx, to, reply.headers, reply.payload)
        .await
    {
        tracing::warn!(
            subject,
            error = %bulwark_runtime::error::chain(&error),
            "reply not published"
        );
    }
}
