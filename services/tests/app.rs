//! The gateway application driven in process (no socket): correlation, the standard error format
//! for every failure path, panics and body limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use bulwark_services::gateway::{ApiJson, AppState, Correlation, GatewayConfig, app, build};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
struct Echo {
    text: String,
}

async fn echo(Correlation(id): Correlation, ApiJson(body): ApiJson<Echo>) -> axum::Json<Value> {
    axum::Json(json!({"text": body.text, "correlation_id": id.as_str()}))
}

async fn boom() -> &'static str {
    panic!("database password is hunter2")
}

async fn test_app(body_limit: usize) -> Router {
    let state = AppState::new(
        GatewayConfig {
            body_limit,
            ..GatewayConfig::default()
        },
        runtime().await,
    );
    let routes = bulwark_services::gateway::app::routes()
        .route("/echo", post(echo))
        .route("/boom", get(boom));
    build(routes, state)
}

async fn runtime() -> bulwark_runtime::runtime::Runtime {
    bulwark_runtime::runtime::Runtime::builder()
        .build()
        .await
        .unwrap()
}

async fn send(app: Router, req: Request<Body>) -> (Response, Value) {
    let response = app.oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (Response::from_parts(parts, Body::empty()), json)
}

fn assert_standard(response: &Response, json: &Value, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "{json}");
    assert_eq!(json["error"], true);
    assert_eq!(json["status_code"], status);
    assert_eq!(json["error_code"], code);
    let header_id = response.headers()["x-correlation-id"].to_str().unwrap();
    assert_eq!(json["correlation_id"], header_id);
}

#[tokio::test]
async fn livez_answers_ok_with_a_fresh_correlation_id() {
    let state = AppState::new(GatewayConfig::default(), runtime().await);
    let req = Request::get("/livez").body(Body::empty()).unwrap();
    let (response, json) = send(app(state), req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json, json!({"status": "ok"}));
    let id = response.headers()["x-correlation-id"].to_str().unwrap();
    assert!(uuid_like(id), "{id}");
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn a_valid_incoming_id_reaches_the_handler_and_comes_back() {
    let req = Request::post("/echo")
        .header("x-correlation-id", "trace-77")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"text":"hi"}"#))
        .unwrap();
    let (response, json) = send(test_app(1024).await, req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json["correlation_id"], "trace-77");
    assert_eq!(response.headers()["x-correlation-id"], "trace-77");
}

#[tokio::test]
async fn invalid_incoming_ids_are_replaced() {
    let long = "y".repeat(129);
    let values: [&[u8]; 4] = [b"", long.as_bytes(), b"caf\xc3\xa9", b"a b"];
    for value in values {
        let req = Request::get("/livez")
            .header("x-correlation-id", value)
            .body(Body::empty())
            .unwrap();
        let (response, _) = send(test_app(1024).await, req).await;
        let id = response.headers()["x-correlation-id"].to_str().unwrap();
        assert!(uuid_like(id), "{value:?} -> {id}");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_without_its_text() {
    let req = Request::get("/boom")
        .header("x-correlation-id", "p-1")
        .body(Body::empty())
        .unwrap();
    let app = test_app(1024).await;
    let (response, json) = send(app.clone(), req).await;
    assert_standard(&response, &json, 500, "SYSTEM_ERROR");
    assert_eq!(json["correlation_id"], "p-1");
    assert_eq!(json["message"], "Internal server error");
    assert!(!json.to_string().contains("hunter2"));
    // The app keeps serving.
    let req = Request::get("/livez").body(Body::empty()).unwrap();
    let (response, _) = send(app, req).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_with_413() {
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 400])));
    let body = Body::from_stream(futures::stream::iter(chunks));
    let req = Request::post("/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    let (response, json) = send(test_app(1024).await, req).await;
    assert_standard(&response, &json, 413, "VALIDATION_ERROR");
    assert_eq!(
        json["details"]["body"],
        "must not be larger than 1024 bytes"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_a_validation_error() {
    for content_type in [None, Some("text/plain")] {
        let mut req = Request::post("/echo");
        if let Some(value) = content_type {
            req = req.header(header::CONTENT_TYPE, value);
        }
        let req = req.body(Body::from(r#"{"text":"hi"}"#)).unwrap();
        let (response, json) = send(test_app(1024).await, req).await;
        assert_standard(&response, &json, 400, "VALIDATION_ERROR");
        assert_eq!(json["details"]["content-type"], "must be application/json");
    }
}

#[tokio::test]
async fn head_and_unknown_methods_follow_the_rules() {
    let req = Request::head("/livez").body(Body::empty()).unwrap();
    let (response, _) = send(test_app(1024).await, req).await;
    assert_eq!(response.status(), StatusCode::OK);
    let req = Request::delete("/livez").body(Body::empty()).unwrap();
    let (response, json) = send(test_app(1024).await, req).await;
    assert_standard(&response, &json, 405, "RESOURCE_ERROR");
    assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
    assert_eq!(
        json["details"]["method"],
        "DELETE is not allowed on this resource"
    );
}
