//! NATS as a Bulwark dependency: the connection (reconnection with backoff, its state for
//! readiness) and [`Publisher`], which sends every reply, result and ack through the `nats`
//! guard — a breaker and a bulkhead like any other dependency's.
//!
//! async-nats queues publishes in a bounded channel and flushes them when it can; while the
//! connection is down a publish would wait for that channel to drain. The publisher refuses at
//! once instead (a transient failure that never reached the server), so an outage opens the
//! `nats` circuit, `/readyz` and `/status` show it, and no task piles up behind a dead socket.

use std::sync::Arc;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, ConnectOptions, Event, HeaderMap, Subject};
use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits};
use bulwark_runtime::dependency::{CallContext, CallError, DependencyError};
use bulwark_runtime::guard::Guard;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::timeout::TimeoutPolicy;
use bytes::Bytes;
use rand::Rng;
use tokio::sync::watch;

use super::config::NatsConfig;

/// The dependency's name in `/status`, metrics and `[dependencies.nats]` overrides.
pub const DEPENDENCY: &str = "nats";

/// First wait before reconnecting; it doubles up to `reconnect_max_delay`.
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// The connection could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to NATS")]
pub struct ConnectError(#[source] pub async_nats::ConnectError);

/// A publish refused because the connection is down (it never reached the server).
#[derive(Debug, thiserror::Error)]
#[error("NATS connection is down")]
pub struct Disconnected;

/// A client and whether its connection is up now (set by the client's own events).
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client (it reconnects by itself).
    pub client: Client,
    /// `true` while connected; wait on it rather than polling the client.
    pub up: watch::Receiver<bool>,
}

/// Connects to `url`. The first connection is retried like a lost one, so a node started before
/// its NATS server serves HTTP meanwhile and joins when the server comes up.
pub async fn connect(
    url: &str,
    config: &NatsConfig,
    node: &str,
) -> Result<Connection, ConnectError> {
    let max = config.reconnect_max_delay;
    let logged_url: Arc<str> = Arc::from(redact(url));
    let (up_tx, up) = watch::channel(false);
    let up_tx = Arc::new(up_tx);
    let client = ConnectOptions::new()
        .name(node)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        // Bounded: a subscription that cannot keep up loses messages (NATS' slow consumer) rather
        // than growing without limit; the request loop never blocks, so that means overload.
        .subscription_capacity(config.max_in_flight.saturating_mul(4).max(1024))
        .reconnect_delay_callback(move |attempts| reconnect_delay(attempts, max))
        .event_callback(move |event| {
            let (url, up) = (Arc::clone(&logged_url), Arc::clone(&up_tx));
            async move {
                match event {
                    Event::Connected => {
                        up.send_replace(true);
                    }
                    Event::Disconnected | Event::Closed => {
                        up.send_replace(false);
                    }
                    _ => {}
                }
                log_event(&url, &event);
            }
        })
        .connect(url)
        .await
        .map_err(ConnectError)?;
    Ok(Connection { client, up })
}

/// Exponential backoff with jitter: 100 ms × 2^(attempts−1), at most `max`, plus 0–100 ms.
pub fn reconnect_delay(attempts: usize, max: Duration) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(attempts - 1).unwrap_or(u32::MAX).min(16);
    let base = FIRST_RECONNECT_DELAY.saturating_mul(1 << exponent).min(max);
    base + Duration::from_millis(rand::rng().random_range(0..=100))
}

/// The URL without credentials (`nats://user:pass@host` → `nats://***@host`), for logs.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn log_event(url: &str, event: &Event) {
    match event {
        Event::Connected => tracing::info!(url, "NATS connected"),
        Event::Disconnected => tracing::warn!(url, "NATS disconnected: reconnecting"),
        Event::SlowConsumer(sid) => {
            tracing::warn!(url, sid, "NATS subscription overflowed: messages dropped")
        }
        other => tracing::info!(url, event = %other, "NATS event"),
    }
}

/// The `nats` guard's policy: publishes are quick local operations, so a short attempt timeout;
/// a short reset timeout so a restarted server is used again within seconds; one retry.
pub fn default_policy() -> Policy {
    let breaker = BreakerConfig::builder()
        .window(WindowKind::Count { size: 20 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .reset_timeout(Duration::from_secs(2))
        .half_open_permits(2)
        .build()
        .unwrap_or_default();
    let limits = ClassLimits {
        max_concurrent: 512,
        max_queue: 1024,
    };
    let bulkhead = BulkheadConfig::builder()
        .critical(limits)
        .non_critical(limits)
        .max_wait(Duration::from_millis(500))
        .build()
        .unwrap_or_default();
    let retry = RetryPolicy::builder()
        .max_retries(1)
        .build()
        .unwrap_or_default();
    let timeout = TimeoutPolicy::with_attempt(Duration::from_secs(1))
        .and_then(|t| t.with_total(Duration::from_secs(2)))
        .unwrap_or_default();
    Policy {
        breaker,
        bulkhead,
        retry,
        timeout,
        ..Policy::default()
    }
}

/// Publishes through the `nats` guard. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Publisher {
    client: Client,
    guard: Guard,
}

impl Publisher {
    /// Publishes on `client` through `guard`.
    pub fn new(client: Client, guard: Guard) -> Self {
        Self { client, guard }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the connection is up now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Publishes `payload` with `headers` on `subject`.
    pub async fn publish(
        &self,
        ctx: CallContext,
        subject: Subject,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<(), CallError> {
        self.run(ctx, || {
            let (client, subject) = (self.client.clone(), subject.clone());
            let (headers, payload) = (headers.clone(), payload.clone());
            async move { client.publish_with_headers(subject, headers, payload).await }
        })
        .await
    }

    /// Runs one NATS operation (a publish, an ack) through the guard, refused at once while the
    /// connection is down.
    pub async fn run<T, E, F, Fut>(&self, ctx: CallContext, mut op: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.guard
            .run(ctx, |_| {
                let connected = self.is_connected();
                let attempt = connected.then(&mut op);
                async move {
                    match attempt {
                        None => Err(DependencyError::transient(Disconnected).not_delivered()),
                        Some(future) => future.await.map_err(DependencyError::transient),
                    }
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_doubles_to_the_cap_with_jitter() {
        let max = Duration::from_secs(2);
        assert_eq!(reconnect_delay(0, max), Duration::ZERO);
        let first = reconnect_delay(1, max);
        assert!(first >= FIRST_RECONNECT_DELAY && first <= Duration::from_millis(200));
        let third = reconnect_delay(3, max);
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(500));
        let late = reconnect_delay(50, max);
        assert!(late >= max && late <= max + Duration::from_millis(100));
    }

    #[test]
    fn credentials_never_reach_the_log() {
        assert_eq!(redact("nats://u:secret@h:4222"), "nats://***@h:4222");
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
    }
}
