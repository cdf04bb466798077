//! A response pipeline over simulated providers, served in process or over a socket.
#![allow(dead_code, unreachable_pub)]

#[path = "../common/pipeline.rs"]
mod pipeline;
pub use pipeline::{client, failing, policy, serve};

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::gateway::{AppState, GatewayConfig, Readiness, Role, app::routes, build};
use bulwark_services::responses::provider::PROVIDER_POOL;
use bulwark_services::responses::routes::{self as response_routes, ResponsesApi};
use bulwark_services::responses::{ProviderConfig, ResponseConfig, ResponseService};
use bulwark_services::sentiment::{SentimentConfig, SentimentService};
use bulwark_services::simulator::{Faults, Simulator, SimulatorConfig};
use serde_json::Value;
use utoipa::OpenApi;

/// A simulated provider (both APIs) with these faults.
pub async fn simulator(faults: Faults) -> Simulator {
    keyed_simulator(faults, None).await
}

/// A simulated provider that wants `key`.
pub async fn keyed_simulator(faults: Faults, key: Option<&str>) -> Simulator {
    let sim = Simulator::start(SimulatorConfig {
        api_key: key.map(str::to_owned),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    sim.faults().set(faults).unwrap();
    sim
}

/// An OpenAI-compatible provider on `sim`.
pub fn openai(sim: &Simulator, name: &str) -> ProviderConfig {
    ProviderConfig::openai(name, format!("{}/v1", sim.base_url()), "gpt-sim")
}

/// An Anthropic provider on `sim`.
pub fn anthropic(sim: &Simulator, name: &str) -> ProviderConfig {
    ProviderConfig::anthropic(name, format!("{}/v1", sim.base_url()), "claude-sim")
}

/// The settings with these providers, cache off.
pub fn config(providers: Vec<ProviderConfig>) -> ResponseConfig {
    ResponseConfig {
        providers,
        cache_ttl: Duration::ZERO,
        ..ResponseConfig::default()
    }
}

/// Everything a test drives.
pub struct Pipeline {
    pub runtime: Runtime,
    pub responses: ResponseService,
    pub app: Router,
}

impl Pipeline {
    /// Waits until every provider's actor has applied the outcomes so far.
    pub async fn flush(&self) {
        if let Some(pool) = self.responses.pool() {
            pool.flush().await.unwrap();
        }
    }
}

/// A response pipeline with `config` (the sentiment step rule-based), on a runtime with
/// tokio's clock (so paused time moves the breakers), routed and declared like the product.
pub async fn pipeline(config: ResponseConfig) -> Pipeline {
    let runtime = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let sentiment = SentimentService::builder(SentimentConfig::default())
        .start(&runtime)
        .await
        .unwrap();
    let responses = ResponseService::builder(config, sentiment)
        .policy(policy())
        .start(&runtime)
        .await
        .unwrap();
    let readiness = Readiness::default();
    if responses.has_providers() {
        readiness.declare(PROVIDER_POOL, Role::COVERED);
    }
    let note = responses.clone();
    let clock = runtime.clock().clone();
    readiness.check("responses", move || note.readiness_note(clock.now()));
    let mut gateway = GatewayConfig::default();
    gateway.rate_limit.enabled = false;
    let state = AppState::builder(gateway, runtime.clone())
        .readiness(readiness)
        .openapi(ResponsesApi::openapi())
        .build();
    let app = build(
        routes().merge(response_routes::routes(responses.clone())),
        state,
    );
    Pipeline {
        runtime,
        responses,
        app,
    }
}

/// `POST /v1/responses` in process; the status, headers and JSON answer.
pub async fn post(
    app: &Router,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, Value) {
    let (status, headers, bytes) = post_raw(app, body, headers).await;
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `POST /v1/responses` in process; the status, headers and body bytes.
pub async fn post_raw(
    app: &Router,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let mut request =
        Request::post("/v1/responses").header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body.to_string())).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, bytes.to_vec())
}

/// `GET path` in process; the JSON answer.
pub async fn get(app: &Router, path: &str) -> (u16, Value) {
    use tower::ServiceExt;
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One server-sent event: its name and JSON data.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub event: String,
    pub data: Value,
}

/// The events of a complete `text/event-stream` body (keep-alive comments skipped).
pub fn events(body: &[u8]) -> Vec<Sse> {
    let text = String::from_utf8_lossy(body);
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (!data.is_empty()).then(|| Sse {
                event,
                data: serde_json::from_str(&data).unwrap(),
            })
        })
        .collect()
}

/// Asserts the standard error format with the response's correlation ID.
pub fn assert_standard(status: u16, headers: &axum::http::HeaderMap, body: &Value, code: &str) {
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(
        body["correlation_id"],
        headers["x-correlation-id"].to_str().unwrap(),
        "{body}"
    );
}
