//! The service face over a real socket: readiness from declared dependency roles, `/status`,
//! `/metrics` by route template, request deadlines, edge priority and rate limits — every
//! refusal in the standard error format with the response's correlation ID.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bulwark_runtime::dependency::{BreakerCommand, CallError, DependencyError};
use bulwark_runtime::error::ServiceError;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::gateway::server::Server;
use bulwark_services::gateway::{
    ApiError, AppState, GatewayConfig, RequestContext, Role, app::routes, build,
};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use support::bounded;

struct Service {
    base: String,
    runtime: Runtime,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A runtime with two guards: `model` (critical, covered by a fallback) and `store` (critical).
async fn runtime() -> Runtime {
    Runtime::builder()
        .guard("model", Policy::default())
        .guard("store", Policy::default())
        .build()
        .await
        .unwrap()
}

async fn serve(config: GatewayConfig, extra: Router<AppState>) -> Service {
    let runtime = runtime().await;
    let state = AppState::builder(config.clone(), runtime.clone()).build();
    state.readiness().declare("model", Role::COVERED);
    state.readiness().declare("store", Role::CRITICAL);
    let app = build(routes().merge(extra), state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = Server::new(&config).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, app, async move {
        let _ = stopped.await;
    }));
    Service {
        base: format!("http://{addr}"),
        runtime,
        stop: Some(stop),
    }
}

fn client() -> reqwest::Client {
    bulwark_runtime::http::install_default_tls();
    reqwest::Client::new()
}

async fn get_json(
    client: &reqwest::Client,
    url: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn assert_standard(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    code: &str,
) {
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["status_code"], status.as_u16(), "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(
        body["correlation_id"],
        headers["x-correlation-id"].to_str().unwrap(),
        "{body}"
    );
}

async fn force(runtime: &Runtime, name: &str, command: BreakerCommand) {
    runtime
        .controls(name)
        .unwrap()
        .command(command)
        .await
        .unwrap();
}

#[tokio::test]
async fn readiness_follows_the_declared_roles() {
    bounded(async {
        let service = serve(GatewayConfig::default(), Router::new()).await;
        let client = client();
        let readyz = format!("{}/readyz", service.base);

        let (status, _, body) = get_json(&client, &readyz).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["dependencies"].as_array().unwrap().len(), 2);

        // The covered model down: still ready, degraded.
        force(&service.runtime, "model", BreakerCommand::ForceOpen).await;
        let (status, _, body) = get_json(&client, &readyz).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "degraded");
        let model = body["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "model")
            .unwrap()
            .clone();
        assert_eq!(model["state"], "forced_open");
        assert_eq!(model["ready"], false);
        assert_eq!(model["covered_by_fallback"], true);

        // The store (critical, no fallback) down: 503 in the standard format, dependencies listed.
        force(&service.runtime, "store", BreakerCommand::ForceOpen).await;
        let (status, headers, body) = get_json(&client, &readyz).await;
        assert_eq!(status, 503, "{body}");
        assert_standard(status, &headers, &body, "DEPENDENCY_ERROR");
        assert_eq!(body["details"]["store"], "unavailable, no fallback");
        assert_eq!(body["dependencies"].as_array().unwrap().len(), 2);

        force(&service.runtime, "store", BreakerCommand::Reset).await;
        force(&service.runtime, "model", BreakerCommand::Reset).await;
        let (status, _, body) = get_json(&client, &readyz).await;
        assert_eq!(
            (status.as_u16(), body["status"].as_str()),
            (200, Some("ready"))
        );
    })
    .await;
}

#[tokio::test]
async fn status_shows_circuits_transitions_edge_and_the_tree() {
    bounded(async {
        let service = serve(GatewayConfig::default(), Router::new()).await;
        force(&service.runtime, "store", BreakerCommand::ForceOpen).await;
        let client = client();
        let (status, _, body) = get_json(&client, &format!("{}/status", service.base)).await;
        assert_eq!(status, 200, "{body}");
        let deps = body["dependencies"].as_array().unwrap();
        let store = deps.iter().find(|d| d["name"] == "store").unwrap();
        assert_eq!(store["breaker"]["state"], "forced_open");
        assert!(store["bulkhead"]["critical"].is_object(), "{store}");
        let transitions = store["recent_transitions"].as_array().unwrap();
        assert_eq!(transitions.last().unwrap()["to"], "forced_open");
        assert!(body["supervision"]["children"].is_array(), "{body}");
        assert_eq!(body["readiness"]["status"], "unavailable");
        assert!(body["edge"]["critical_free"].as_u64().unwrap() > 0);

        // A query string on a route that takes none is a validation error.
        let (status, headers, body) =
            get_json(&client, &format!("{}/status?verbose=1", service.base)).await;
        assert_eq!(status, 400);
        assert_standard(status, &headers, &body, "VALIDATION_ERROR");
    })
    .await;
}

#[tokio::test]
async fn metrics_are_labelled_by_route_template() {
    bounded(async {
        let extra = Router::new().route("/items/{id}", get(|| async { "item" }));
        let service = serve(GatewayConfig::default(), extra).await;
        let client = client();
        for id in ["a", "b", "c"] {
            client
                .get(format!("{}/items/{id}", service.base))
                .send()
                .await
                .unwrap();
        }
        client
            .get(format!("{}/nowhere", service.base))
            .send()
            .await
            .unwrap();
        let response = client
            .get(format!("{}/metrics", service.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = response.text().await.unwrap();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("bulwark_http_requests_total{")
                    && l.contains("route=\"/items/{id}\"")
                    && l.contains("status=\"200\"")
            })
            .unwrap_or_else(|| panic!("no series for the template in\n{text}"));
        let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(count >= 3.0, "{line}");
        assert!(
            !text.contains("route=\"/items/a\""),
            "raw paths must not be labels"
        );
        assert!(
            text.lines().any(|l| l.contains("route=\"unmatched\"")
                && l.contains("status=\"404\"")
                && l.contains("error_code=\"RESOURCE_ERROR\"")),
            "{text}"
        );
        assert!(
            text.contains("bulwark_http_request_duration_seconds_bucket{route=\"/items/{id}\"")
        );
        assert!(
            text.contains("bulwark_circuit_state{dependency=\"store\"}"),
            "{text}"
        );
    })
    .await;
}

/// A handler that makes one guarded call which never answers: only the deadline ends it.
async fn hang(
    axum::extract::State(state): axum::extract::State<AppState>,
    RequestContext(ctx): RequestContext,
) -> Result<&'static str, ApiError> {
    let guard = state.runtime().guard("model").unwrap();
    let id = ctx.correlation_id().clone();
    guard
        .run(ctx, |_| async {
            std::future::pending::<()>().await;
            Ok::<_, DependencyError>(())
        })
        .await
        .map_err(|e: CallError| ApiError::new(ServiceError::from(e), id))?;
    Ok("never")
}

#[tokio::test]
async fn the_request_deadline_flows_into_guarded_calls() {
    bounded(async {
        let extra = Router::new().route("/hang", get(hang));
        let service = serve(GatewayConfig::default(), extra).await;
        let client = client();
        let url = format!("{}/hang", service.base);

        let started = std::time::Instant::now();
        let response = client
            .get(&url)
            .header("x-request-timeout", "150")
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 504, "{body}");
        assert_standard(status, &headers, &body, "DEPENDENCY_ERROR");
        // Well under the 10 s default: the header lowered the deadline.
        assert!(started.elapsed() < Duration::from_secs(5));

        for bad in ["soon", "-5", "0", "1.5"] {
            let response = client
                .get(&url)
                .header("x-request-timeout", bad)
                .send()
                .await
                .unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, 400, "{bad}: {body}");
            assert_standard(status, &headers, &body, "VALIDATION_ERROR");
            assert!(body["details"]["X-Request-Timeout"].is_string(), "{body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_full_non_critical_class_sheds_at_once_and_health_still_answers() {
    bounded(async {
        let gate = Arc::new(Notify::new());
        let entered = Arc::new(Notify::new());
        let (g, e) = (Arc::clone(&gate), Arc::clone(&entered));
        let extra = Router::new().route(
            "/work",
            get(move || {
                let (g, e) = (Arc::clone(&g), Arc::clone(&e));
                async move {
                    e.notify_one();
                    g.notified().await;
                    "done"
                }
            }),
        );
        let mut config = GatewayConfig::default();
        config.concurrency.non_critical = 1;
        let service = serve(config, extra).await;
        let client = client();
        let url = format!("{}/work", service.base);
        let first = tokio::spawn({
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(url).send().await.unwrap().status() }
        });
        entered.notified().await;

        let response = client.get(&url).send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 503, "{body}");
        assert_standard(status, &headers, &body, "DEPENDENCY_ERROR");
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(body["details"]["route_class"], "non_critical");

        // Critical routes have their own places.
        for path in ["/livez", "/readyz", "/metrics", "/status"] {
            let status = client
                .get(format!("{}{path}", service.base))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 200, "{path}");
        }
        gate.notify_one();
        assert_eq!(first.await.unwrap(), 200);
    })
    .await;
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_and_others_and_health_do_not() {
    bounded(async {
        let extra = Router::new().route("/work", get(|| async { "ok" }));
        let mut config = GatewayConfig::default();
        config.rate_limit.non_critical.per_second = 1;
        config.rate_limit.non_critical.burst = 3;
        let service = serve(config, extra).await;
        let client = client();
        let url = format!("{}/work", service.base);
        for _ in 0..3 {
            let status = client.get(&url).send().await.unwrap().status();
            assert_eq!(status, 200);
        }
        let response = client.get(&url).send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 429, "{body}");
        assert_standard(status, &headers, &body, "RATE_LIMIT_ERROR");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry), "{retry}");

        // Another client (its own API key) is not affected, nor is the critical class.
        let status = client
            .get(&url)
            .header("x-api-key", "tenant-b")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let status = client
            .get(format!("{}/livez", service.base))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_the_error_schema() {
    bounded(async {
        let service = serve(GatewayConfig::default(), Router::new()).await;
        let client = client();
        let (status, _, doc) = get_json(&client, &format!("{}/openapi.json", service.base)).await;
        assert_eq!(status, 200);
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        for path in ["/livez", "/readyz", "/status", "/metrics", "/openapi.json"] {
            let op = &doc["paths"][path]["get"];
            assert!(op.is_object(), "{path} missing");
            for code in ["400", "429", "500", "503", "504"] {
                assert_eq!(
                    op["responses"][code]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorResponse",
                    "{path} {code}"
                );
            }
        }
        let error = &doc["components"]["schemas"]["ErrorResponse"];
        for field in [
            "error",
            "status_code",
            "message",
            "details",
            "error_code",
            "correlation_id",
            "timestamp",
        ] {
            assert!(error["properties"][field].is_object(), "{field}");
        }
    })
    .await;
}
