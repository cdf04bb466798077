//! The gateway end to end over a real socket: the server on an ephemeral port, a real HTTP client,
//! every failure answered in the standard format with the correlation ID in body and header, and
//! graceful shutdown.
//!
//! Routes under `/test/` exist only here: they are served through the same
//! [`build`](bulwark_services::gateway::build) as the product's routes (same middleware, same
//! extractor, same server), to reach paths the product's current routes do not have (a JSON body,
//! a slow handler).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use bulwark_services::gateway::server::{self, ServerError, Shutdown};
use bulwark_services::gateway::{ApiJson, AppState, Correlation, GatewayConfig, app, build};
use reqwest::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// A running server and the means to stop it.
struct Running {
    base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<Shutdown, ServerError>>,
}

async fn runtime() -> bulwark_runtime::runtime::Runtime {
    bulwark_runtime::runtime::Runtime::builder()
        .build()
        .await
        .unwrap()
}

async fn start(router: Router, drain_timeout: Duration) -> Running {
    // reqwest is built without a bundled crypto provider: install ring before any client.
    bulwark_runtime::http::install_default_tls();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(server::serve(listener, router, shutdown, drain_timeout));
    Running {
        base: format!("http://{addr}"),
        stop,
        task,
    }
}

async fn start_app() -> Running {
    let state = AppState::new(GatewayConfig::default(), runtime().await);
    start(app(state), Duration::from_secs(10)).await
}

#[derive(Debug, Deserialize)]
struct TextRequest {
    text: String,
}

async fn echo(
    Correlation(id): Correlation,
    ApiJson(req): ApiJson<TextRequest>,
) -> axum::Json<Value> {
    axum::Json(json!({"text": req.text, "correlation_id": id.as_str()}))
}

async fn start_with_echo() -> Running {
    let state = AppState::new(GatewayConfig::default(), runtime().await);
    let routes = bulwark_services::gateway::app::routes().route("/test/echo", post(echo));
    start(build(routes, state), Duration::from_secs(10)).await
}

/// Checks the standard format and that body and header carry the same correlation ID; returns it.
fn assert_standard(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    expected_status: u16,
    code: &str,
) -> String {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "error",
        "status_code",
        "message",
        "details",
        "error_code",
        "correlation_id",
        "timestamp",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(body["error"], true);
    assert_eq!(body["status_code"], expected_status);
    assert_eq!(body["error_code"], code);
    assert!(body["details"].is_object());
    let ts = body["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 27, "{ts}");
    assert!(ts.ends_with('Z'));
    assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok());
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    let header_id = headers["x-correlation-id"].to_str().unwrap();
    assert_eq!(body["correlation_id"], header_id);
    header_id.to_owned()
}

async fn call(
    req: reqwest::RequestBuilder,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = req.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn is_uuid_v7(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7)
}

#[tokio::test]
async fn livez_answers_ok() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let (status, headers, body) = call(client.get(format!("{}/livez", server.base))).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));
    assert!(is_uuid_v7(headers["x-correlation-id"].to_str().unwrap()));
}

#[tokio::test]
async fn an_unknown_route_is_a_404_resource_error() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let req = client
        .get(format!("{}/no/such/route?x=1", server.base))
        .header("x-correlation-id", "e2e-404");
    let (status, headers, body) = call(req).await;
    let id = assert_standard(status, &headers, &body, 404, "RESOURCE_ERROR");
    assert_eq!(id, "e2e-404");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_with_allow() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let (status, headers, body) = call(client.post(format!("{}/livez", server.base))).await;
    assert_standard(status, &headers, &body, 405, "RESOURCE_ERROR");
    assert_eq!(headers[ALLOW], "GET,HEAD");
    assert_eq!(
        body["details"]["method"],
        "POST is not allowed on this resource"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_body() {
    let server = start_with_echo().await;
    let client = reqwest::Client::new();
    let req = client
        .post(format!("{}/test/echo", server.base))
        .header(CONTENT_TYPE, "application/json")
        .header("x-correlation-id", "e2e-400")
        .body(r#"{"text": "#);
    let (status, headers, body) = call(req).await;
    let id = assert_standard(status, &headers, &body, 400, "VALIDATION_ERROR");
    assert_eq!(id, "e2e-400");
    let problem = body["details"]["body"].as_str().unwrap();
    assert!(problem.starts_with("invalid JSON"), "{problem}");
}

#[tokio::test]
async fn a_wrongly_typed_field_is_a_400_naming_the_field() {
    let server = start_with_echo().await;
    let client = reqwest::Client::new();
    let req = client
        .post(format!("{}/test/echo", server.base))
        .json(&json!({"text": 5}));
    let (status, headers, body) = call(req).await;
    assert_standard(status, &headers, &body, 400, "VALIDATION_ERROR");
    assert_eq!(
        body["details"],
        json!({"text": "invalid type: integer `5`, expected a string"})
    );
    // And a well-formed body goes through, with the same correlation ID the header carries.
    let req = client
        .post(format!("{}/test/echo", server.base))
        .json(&json!({"text": "fine"}));
    let (status, headers, body) = call(req).await;
    assert_eq!(status, 200);
    assert_eq!(body["text"], "fine");
    assert_eq!(
        body["correlation_id"],
        headers["x-correlation-id"].to_str().unwrap()
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let at_limit = vec![b'x'; 1024 * 1024];
    let (status, headers, body) =
        call(client.post(format!("{}/livez", server.base)).body(at_limit)).await;
    // Exactly at the limit passes the limit and reaches the route (which takes no POST).
    assert_standard(status, &headers, &body, 405, "RESOURCE_ERROR");
    let over = vec![b'x'; 1024 * 1024 + 1];
    let req = client
        .post(format!("{}/livez", server.base))
        .header("x-correlation-id", "e2e-413")
        .body(over);
    let (status, headers, body) = call(req).await;
    let id = assert_standard(status, &headers, &body, 413, "VALIDATION_ERROR");
    assert_eq!(id, "e2e-413");
    assert_eq!(
        body["details"]["body"],
        "must not be larger than 1048576 bytes"
    );
}

#[tokio::test]
async fn correlation_header_edge_cases_over_the_wire() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let url = format!("{}/no-such-route", server.base);
    let max = "m".repeat(128);
    let (status, headers, body) = call(client.get(&url).header("x-correlation-id", &max)).await;
    assert_eq!(
        assert_standard(status, &headers, &body, 404, "RESOURCE_ERROR"),
        max
    );

    let rejected: Vec<HeaderValue> = vec![
        HeaderValue::from_static(""),
        HeaderValue::from_str(&"m".repeat(129)).unwrap(),
        HeaderValue::from_static("has space"),
        HeaderValue::from_bytes(b"tab\there").unwrap(),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
    ];
    for value in rejected {
        let (status, headers, body) =
            call(client.get(&url).header("x-correlation-id", value.clone())).await;
        let id = assert_standard(status, &headers, &body, 404, "RESOURCE_ERROR");
        assert!(is_uuid_v7(&id), "{value:?} answered with {id}");
    }
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_request_finish() {
    let (started_tx, mut started_rx) = mpsc::channel::<()>(1);
    let release = Arc::new(Semaphore::new(0));
    let gate = Arc::clone(&release);
    let slow = get(move || {
        let started = started_tx.clone();
        let gate = Arc::clone(&gate);
        async move {
            started.send(()).await.unwrap();
            let _permit = gate.acquire().await.unwrap();
            "finished"
        }
    });
    let state = AppState::new(GatewayConfig::default(), runtime().await);
    let routes = bulwark_services::gateway::app::routes().route("/test/slow", slow);
    let server = start(build(routes, state), Duration::from_secs(10)).await;

    let url = format!("{}/test/slow", server.base);
    let request = tokio::spawn(async move { reqwest::get(url).await.unwrap() });
    started_rx.recv().await.unwrap();

    server.stop.send(()).unwrap();
    // The server cannot have stopped: a request is in flight and the drain timeout is 10 s.
    tokio::task::yield_now().await;
    assert!(!server.task.is_finished());

    release.add_permits(1);
    let response = request.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    assert_eq!(server.task.await.unwrap().unwrap(), Shutdown::Drained);
}

#[tokio::test]
async fn the_drain_timeout_bounds_shutdown() {
    let (started_tx, mut started_rx) = mpsc::channel::<()>(1);
    let hang = get(move || {
        let started = started_tx.clone();
        async move {
            started.send(()).await.unwrap();
            std::future::pending::<&'static str>().await
        }
    });
    let state = AppState::new(GatewayConfig::default(), runtime().await);
    let routes = bulwark_services::gateway::app::routes().route("/test/hang", hang);
    let server = start(build(routes, state), Duration::from_millis(50)).await;

    let url = format!("{}/test/hang", server.base);
    let request = tokio::spawn(async move { reqwest::get(url).await });
    started_rx.recv().await.unwrap();
    server.stop.send(()).unwrap();
    assert_eq!(server.task.await.unwrap().unwrap(), Shutdown::DrainTimedOut);
    request.abort();
}

#[tokio::test]
async fn an_idle_server_stops_at_once_and_refuses_new_connections() {
    let server = start_app().await;
    let client = reqwest::Client::new();
    let (status, _, _) = call(client.get(format!("{}/livez", server.base))).await;
    assert_eq!(status, 200);
    server.stop.send(()).unwrap();
    assert_eq!(server.task.await.unwrap().unwrap(), Shutdown::Drained);
    let addr = server.base.trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
