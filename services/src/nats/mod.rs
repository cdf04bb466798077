//! The NATS adapter: Bulwark's pipelines over messages, and several nodes sharing the load.
//!
//! Why NATS and not a protocol of our own: request/reply with queue groups gives load sharing
//! across any number of nodes with no membership protocol (the server routes each request to one
//! member), and JetStream gives a durable work queue with redelivery when a node dies mid-job.
//! Bulwark adds what a resilient service needs around it:
//!
//! - [`connection`]: NATS is a dependency like any other — its publishes (replies, results,
//!   acks) go through the `nats` guard (breaker, bulkhead), the client reconnects with
//!   exponential backoff and jitter, and readiness reports a lost connection;
//! - [`subjects`]: the subject table — each request subject is one line naming the function
//!   the HTTP route calls, so both transports validate, fall back and fail alike;
//! - [`envelope`] and [`codec`]: `Correlation-Id`, `Content-Type` (JSON, or postcard for
//!   Rust-to-Rust), `Status` on errors — the standard error JSON, as over HTTP;
//! - [`requests`]: one loop per subject in queue group `bulwark`; a full bulkhead answers 503
//!   at once, never silence;
//! - [`jobs`]: sentiment jobs from the JetStream work queue `BULWARK_JOBS`, acked only after
//!   their results are stored and published;
//! - [`config`]: the `[nats]` section.

pub mod codec;
pub mod config;
pub mod connection;
pub mod envelope;
pub mod jobs;
pub mod requests;
pub mod subjects;

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::runtime::{Runtime, RuntimeError};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use config::NatsConfig;
pub use subjects::Pipelines;

use crate::gateway::{Readiness, Role};
use crate::jobs::JobQueue;
use connection::{Connection, DEPENDENCY, Publisher};
use requests::Shared;

/// The adapter could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsStartError {
    /// The `nats` guard could not be registered.
    #[error("cannot register the nats dependency")]
    Register(#[from] RuntimeError),
    /// The client could not be created (a malformed URL; an unreachable server is retried).
    #[error(transparent)]
    Connect(#[from] connection::ConnectError),
    /// A request subject could not be subscribed.
    #[error("cannot subscribe to {subject}")]
    Subscribe {
        /// The subject.
        subject: &'static str,
        /// Why.
        #[source]
        source: async_nats::SubscribeError,
    },
}

/// A running adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NatsAdapter {
    client: async_nats::Client,
    up: watch::Receiver<bool>,
    places: Arc<Semaphore>,
    max_in_flight: usize,
    stop: Arc<watch::Sender<bool>>,
    tasks: Arc<std::sync::Mutex<Option<JoinSet<()>>>>,
}

impl NatsAdapter {
    /// Connects to `url`, registers the `nats` guard on `runtime`, subscribes every request
    /// subject of [`subjects::table`] in the queue group, starts pulling jobs into `jobs`, and
    /// tells `readiness` about the connection.
    pub async fn start(
        url: &str,
        config: &NatsConfig,
        runtime: &Runtime,
        pipelines: &Pipelines,
        jobs: JobQueue,
        readiness: &Readiness,
    ) -> Result<Self, NatsStartError> {
        let guard = runtime
            .add_guard(DEPENDENCY, connection::default_policy())
            .await?;
        let node: Arc<str> = Arc::from(config.node());
        let Connection { client, up } = connection::connect(url, config, &node).await?;
        let places = Arc::new(Semaphore::new(config.max_in_flight));
        let shared = Arc::new(Shared {
            publisher: Publisher::new(client.clone(), guard),
            places: Arc::clone(&places),
            node: Arc::clone(&node),
            request_timeout: config.request_timeout,
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for route in subjects::table(pipelines) {
            let subscriber = client
                .queue_subscribe(route.subject, config.queue_group.clone())
                .await
                .map_err(|source| NatsStartError::Subscribe {
                    subject: route.subject,
                    source,
                })?;
            tasks.spawn(requests::serve(
                subscriber,
                route,
                Arc::clone(&shared),
                stopped.clone(),
            ));
        }
        let context = jobs::JobsContext {
            job_timeout: jobs.config().job_timeout,
            queue: jobs,
            sentiment: pipelines.sentiment.clone(),
            ack_wait: config.job_ack_wait,
            max_deliver: config.job_max_deliver,
            retry_max_delay: config.reconnect_max_delay,
        };
        tasks.spawn(jobs::run(shared, context, up.clone(), stopped));

        readiness.declare(DEPENDENCY, Role::OPTIONAL);
        let connected = up.clone();
        readiness.check("nats", move || {
            (!*connected.borrow()).then(|| {
                "NATS disconnected: reconnecting; requests and jobs over NATS wait for it"
                    .to_owned()
            })
        });
        tracing::info!(
            url = %connection::redact(url),
            node = %node,
            queue_group = %config.queue_group,
            max_in_flight = config.max_in_flight,
            "NATS adapter started"
        );
        Ok(Self {
            client,
            up,
            places,
            max_in_flight: config.max_in_flight,
            stop: Arc::new(stop),
            tasks: Arc::new(std::sync::Mutex::new(Some(tasks))),
        })
    }

    /// Whether the connection is up now.
    pub fn is_connected(&self) -> bool {
        *self.up.borrow()
    }

    /// Waits until the connection is up (or the client is gone).
    pub async fn connected(&self) {
        let mut up = self.up.clone();
        let _ = up.wait_for(|connected| *connected).await;
    }

    /// Stops taking requests and jobs (unsubscribes, stops pulling), waits up to `grace` for
    /// those in flight, then flushes what is left to publish. Unacked jobs go to other nodes.
    pub async fn shutdown(&self, grace: Duration) {
        self.stop.send_replace(true);
        let tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut tasks) = tasks {
            while tasks.join_next().await.is_some() {}
        }
        let all = u32::try_from(self.max_in_flight).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(grace, self.places.acquire_many(all)).await;
        if drained.is_err() {
            tracing::warn!("NATS requests or jobs still in flight at stop");
        }
        if let Err(error) = tokio::time::timeout(grace, self.client.flush()).await {
            tracing::debug!(error = %error, "NATS flush at stop timed out");
        }
        tracing::info!("NATS adapter stopped");
    }
}
