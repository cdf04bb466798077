//! A sentiment pipeline over simulated model endpoints, served in process or over a socket.
#![allow(dead_code, unreachable_pub)]

#[path = "../common/pipeline.rs"]
mod pipeline;
pub use pipeline::{RESET, client, failing, policy, serve};

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::embeddings::routes::{self as embeddings_routes, EmbeddingsApi};
use bulwark_services::embeddings::{EmbeddingsConfig, EmbeddingsService};
use bulwark_services::gateway::{AppState, GatewayConfig, Readiness, Role, app::routes, build};
use bulwark_services::sentiment::model::MODEL_POOL;
use bulwark_services::sentiment::routes::{self as sentiment_routes, SentimentApi};
use bulwark_services::sentiment::{SentimentConfig, SentimentService};
use bulwark_services::simulator::{Faults, Simulator};
use bulwark_services::upstream::EndpointConfig;
use serde_json::Value;
use utoipa::OpenApi;

/// A simulated model endpoint with these faults.
pub async fn simulator(faults: Faults) -> Simulator {
    let sim = Simulator::start(Default::default()).await.unwrap();
    sim.faults().set(faults).unwrap();
    sim
}

/// The endpoint entry of a simulator, named `name`.
pub fn endpoint(sim: &Simulator, name: &str) -> EndpointConfig {
    EndpointConfig::new(format!("{}/models/sst", sim.base_url())).named(name)
}

/// Everything a test drives.
pub struct Pipeline {
    pub runtime: Runtime,
    pub sentiment: SentimentService,
    pub embeddings: EmbeddingsService,
    pub app: Router,
}

impl Pipeline {
    /// Waits until every endpoint's actor has applied the outcomes so far.
    pub async fn flush(&self) {
        if let Some(pool) = self.sentiment.pool() {
            pool.flush().await.unwrap();
        }
    }
}

/// A sentiment pipeline with `config` and an embeddings pipeline with `embeddings`, on a
/// runtime with tokio's clock (so paused time moves the breakers), routed like the product.
pub async fn pipeline(config: SentimentConfig, embeddings: EmbeddingsConfig) -> Pipeline {
    let runtime = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let sentiment = SentimentService::builder(config)
        .policy(policy())
        .start(&runtime)
        .await
        .unwrap();
    let embeddings = EmbeddingsService::builder(embeddings)
        .policy(policy())
        .start(&runtime)
        .await
        .unwrap();
    let readiness = Readiness::default();
    if sentiment.has_model() {
        readiness.declare(MODEL_POOL, Role::COVERED);
    }
    let note = sentiment.clone();
    readiness.check("sentiment", move || note.readiness_note());
    let mut gateway = GatewayConfig::default();
    gateway.rate_limit.enabled = false;
    let state = AppState::builder(gateway, runtime.clone())
        .readiness(readiness)
        .openapi(SentimentApi::openapi())
        .openapi(EmbeddingsApi::openapi())
        .build();
    let app = build(
        routes()
            .merge(sentiment_routes::routes(sentiment.clone()))
            .merge(embeddings_routes::routes(embeddings.clone())),
        state,
    );
    Pipeline {
        runtime,
        sentiment,
        embeddings,
        app,
    }
}

/// The sentiment settings with these endpoints, cache off unless the test wants it.
pub fn config(endpoints: Vec<EndpointConfig>) -> SentimentConfig {
    SentimentConfig {
        endpoints,
        cache_ttl: Duration::ZERO,
        ..SentimentConfig::default()
    }
}

/// `POST path` with a JSON body, in process; the status, headers and JSON answer.
pub async fn post(
    app: &Router,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, Value) {
    use tower::ServiceExt;
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body.to_string())).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Asserts the standard error format with the response's correlation ID.
pub fn assert_standard(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    code: &str,
) {
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(
        body["correlation_id"],
        headers["x-correlation-id"].to_str().unwrap(),
        "{body}"
    );
}

/// Every log line of this test process, captured by one global subscriber (installed on first
/// use). A thread-local subscriber would miss events: tracing caches a callsite's interest
/// process-wide, and tests on other threads hit the same callsites. Tests find their own lines
/// by their correlation ID.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

impl Logs {
    /// The process's log, capturing from now on.
    pub fn global() -> &'static Logs {
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || LogWriter(writer.clone()))
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
            logs
        })
    }

    /// The lines logged so far that mention `marker` (a correlation ID).
    pub fn lines_with(&self, marker: &str) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|line| line.contains(marker))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

struct LogWriter(Logs);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
