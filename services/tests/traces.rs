//! Traces through the gateway: a client's W3C `traceparent` is continued by the request span, a
//! guarded call adds a `dependency.attempt` span under it, and an HTTP dependency receives a
//! `traceparent` of the same trace. Spans are collected with the OpenTelemetry SDK's in-memory
//! exporter behind the same subscriber `bulwark serve` installs (JSON logs plus the OTel layer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use bulwark_runtime::http::{HttpDependency, HttpRequest};
use bulwark_runtime::prelude::*;
use bulwark_runtime::telemetry::{self, LogFormat, TraceExport};
use bulwark_services::gateway::{AppState, GatewayConfig, RequestContext, app, build};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{Value, json};
use tower::ServiceExt;

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn client_traceparent() -> String {
    format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")
}

/// The production subscriber (JSON logs to nowhere) with the OTel layer over an in-memory exporter.
struct Traces {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    _default: tracing::subscriber::DefaultGuard,
}

impl Traces {
    fn install() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let traces = TraceExport::new(
            &provider,
            telemetry::trace_filter(telemetry::DEFAULT_TRACE_FILTER).unwrap(),
        );
        let subscriber = telemetry::subscriber_with(
            LogFormat::Json,
            telemetry::filter(None, "info").unwrap(),
            std::io::sink,
            false,
            Some(traces),
        );
        Self {
            exporter,
            provider,
            _default: tracing::subscriber::set_default(subscriber),
        }
    }

    fn finished(&self) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }

    fn one(&self, name: &str) -> SpanData {
        let spans: Vec<SpanData> = self
            .finished()
            .into_iter()
            .filter(|s| s.name == name)
            .collect();
        assert_eq!(spans.len(), 1, "one {name} span expected: {spans:#?}");
        spans.into_iter().next().unwrap()
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

// Current-thread runtime: the thread-local subscriber sees every task of the test.
#[tokio::test]
async fn the_request_span_continues_the_clients_trace_and_carries_the_correlation_id() {
    let traces = Traces::install();
    let req = Request::get("/livez")
        .header("traceparent", client_traceparent())
        .header("x-correlation-id", "trace-test-1")
        .body(Body::empty())
        .unwrap();
    let runtime = Runtime::builder().build().await.unwrap();
    let response = app(AppState::new(GatewayConfig::default(), runtime.clone()))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let request = traces.one("request");
    assert_eq!(
        request.span_context.trace_id(),
        TraceId::from_hex(CLIENT_TRACE).unwrap()
    );
    assert_eq!(
        request.parent_span_id,
        SpanId::from_hex(CLIENT_SPAN).unwrap()
    );
    assert_ne!(request.span_context.span_id(), request.parent_span_id);
    assert_eq!(
        attr(&request, "correlation_id").as_deref(),
        Some("trace-test-1")
    );
    assert_eq!(attr(&request, "path").as_deref(), Some("/livez"));
}

#[tokio::test]
async fn without_a_valid_traceparent_the_request_starts_a_new_trace() {
    let traces = Traces::install();
    let runtime = Runtime::builder().build().await.unwrap();
    for traceparent in [None, Some("00-zz-not-valid-01")] {
        let mut req = Request::get("/livez");
        if let Some(value) = traceparent {
            req = req.header("traceparent", value);
        }
        let response = app(AppState::new(GatewayConfig::default(), runtime.clone()))
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let spans: Vec<SpanData> = traces
        .finished()
        .into_iter()
        .filter(|s| s.name == "request")
        .collect();
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert!(span.span_context.is_valid());
        assert_eq!(span.parent_span_id, SpanId::INVALID);
        assert_ne!(
            span.span_context.trace_id(),
            TraceId::from_hex(CLIENT_TRACE).unwrap()
        );
        assert!(attr(span, "correlation_id").is_some());
    }
}

/// A loopback upstream that remembers the `traceparent` of each request.
async fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let router = Router::new().route(
        "/predict",
        post(move |headers: HeaderMap| {
            let record = Arc::clone(&record);
            async move {
                let value = headers
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                record.lock().unwrap().push(value);
                axum::Json(json!({"label": "positive"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_dependency_call_adds_an_attempt_span_and_propagates_the_trace_upstream() {
    bulwark_runtime::http::install_default_tls();
    let traces = Traces::install();
    let (base, seen) = upstream().await;
    let model = HttpDependency::<Value, Value>::builder(base)
        .build()
        .unwrap();
    let runtime = Runtime::builder()
        .dependency("model", model, Policy::default())
        .build()
        .await
        .unwrap();
    let handle = runtime
        .handle::<HttpDependency<Value, Value>>("model")
        .unwrap();

    let routes = bulwark_services::gateway::app::routes().route(
        "/ask",
        post(move |RequestContext(ctx): RequestContext| {
            let handle = handle.clone();
            async move {
                let request = HttpRequest::post("/predict", json!({"text": "great"}));
                let answer = handle.call(request, ctx).await.unwrap();
                axum::Json(answer)
            }
        }),
    );
    let req = Request::post("/ask")
        .header("traceparent", client_traceparent())
        .header("x-correlation-id", "trace-test-2")
        .body(Body::empty())
        .unwrap();
    let response = build(
        routes,
        AppState::new(GatewayConfig::default(), runtime.clone()),
    )
    .oneshot(req)
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["label"],
        "positive"
    );

    let trace_id = TraceId::from_hex(CLIENT_TRACE).unwrap();
    let request = traces.one("request");
    let attempt = traces.one("dependency.attempt");
    assert_eq!(request.span_context.trace_id(), trace_id);
    assert_eq!(attempt.span_context.trace_id(), trace_id);
    assert_eq!(attempt.parent_span_id, request.span_context.span_id());
    assert_eq!(attr(&attempt, "dependency").as_deref(), Some("model"));
    assert_eq!(attr(&attempt, "attempt").as_deref(), Some("1"));
    assert_eq!(attr(&attempt, "outcome").as_deref(), Some("success"));
    assert_eq!(attr(&attempt, "breaker").as_deref(), Some("closed"));
    assert_eq!(
        attr(&attempt, "correlation_id").as_deref(),
        Some("trace-test-2")
    );

    // The upstream is called from inside the attempt span: same trace, the attempt as parent.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![format!(
            "00-{CLIENT_TRACE}-{}-01",
            attempt.span_context.span_id()
        )]
    );
    runtime.shutdown().await;
}
