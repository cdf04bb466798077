//! `HttpDependency` against real HTTP servers on loopback, one test per failure class: 200, 500,
//! 503 with `Retry-After`, 401, a hang past the read timeout, a refused port, a reset mid-body,
//! an oversized body, malformed JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod loopback;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bulwark_runtime::breaker::State as Circuit;
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::{CallError, DependencyHandle, FailureKind};
use bulwark_runtime::http::{HttpDependency, HttpError, HttpRequest, classify, trace};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::prelude::*;
use bulwark_runtime::retry::{ExponentialBackoff, RetryPolicy};
use bulwark_runtime::timeout::TimeoutPolicy;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Ask {
    text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Reply {
    label: String,
    score: f64,
}

type Model = HttpDependency<Ask, Reply>;

/// What the upstream saw.
#[derive(Default)]
struct Seen {
    hits: AtomicU32,
    at: Mutex<Vec<Instant>>,
    headers: Mutex<Vec<HeaderMap>>,
    bodies: Mutex<Vec<Ask>>,
}

impl Seen {
    fn hit(&self, headers: &HeaderMap) -> u32 {
        self.at.lock().unwrap().push(Instant::now());
        self.headers.lock().unwrap().push(headers.clone());
        self.hits.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

fn reply() -> Reply {
    Reply {
        label: "positive".to_owned(),
        score: 0.9,
    }
}

fn ask() -> HttpRequest<Ask> {
    HttpRequest::post(
        "/predict",
        Ask {
            text: "great".to_owned(),
        },
    )
}

/// No retries, short timeouts: each test says what it needs beyond that.
fn policy() -> Policy {
    Policy {
        retry: RetryPolicy::disabled(),
        timeout: TimeoutPolicy::new(
            Duration::from_secs(5),
            Duration::from_millis(500),
            Duration::from_secs(2),
        )
        .unwrap(),
        ..Policy::default()
    }
}

fn retrying(max_retries: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_retries(max_retries)
        .backoff(
            ExponentialBackoff::new(
                Duration::from_millis(10),
                2.0,
                Duration::from_millis(50),
                Duration::ZERO,
            )
            .unwrap(),
        )
        .build()
        .unwrap()
}

fn with_retries(max_retries: u32) -> Policy {
    Policy {
        retry: retrying(max_retries),
        ..policy()
    }
}

/// A router whose `/predict` records each request in the `Seen` state and answers it by its
/// number (1 for the first); more routes may be added before serving it.
fn scripted(answer: fn(u32) -> Response) -> axum::Router<Arc<Seen>> {
    axum::Router::new().route(
        "/predict",
        post(
            move |State(seen): State<Arc<Seen>>, headers: HeaderMap| async move {
                answer(seen.hit(&headers))
            },
        ),
    )
}

async fn serve_scripted(seen: &Arc<Seen>, router: axum::Router<Arc<Seen>>) -> loopback::Upstream {
    loopback::serve(router.with_state(Arc::clone(seen))).await
}

async fn start(base: String, policy: Policy) -> (Runtime, DependencyHandle<Model>) {
    let dep = Model::builder(base)
        .timeouts(&policy.timeout)
        .build()
        .unwrap();
    let runtime = Runtime::builder()
        .dependency("model", dep, policy)
        .build()
        .await
        .unwrap();
    let handle = runtime.handle::<Model>("model").unwrap();
    (runtime, handle)
}

/// The `HttpError` behind a failed call.
fn http_cause(err: &CallError) -> &HttpError {
    match err {
        CallError::Failed { last, .. } => last
            .cause()
            .downcast_ref::<HttpError>()
            .expect("an HttpError cause"),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

fn failed(err: &CallError) -> (&bulwark_runtime::dependency::DependencyError, u32) {
    match err {
        CallError::Failed { last, attempts, .. } => (last, *attempts),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[tokio::test]
async fn status_200_decodes_the_json_and_sends_correlation_and_trace_headers() {
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route(
            "/v1/predict",
            post(
                |State(seen): State<Arc<Seen>>, headers: HeaderMap, Json(body): Json<Ask>| async move {
                    seen.hit(&headers);
                    seen.bodies.lock().unwrap().push(body);
                    Json(reply())
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let upstream = loopback::serve(app).await;
    let (runtime, model) = start(format!("{}/v1/", upstream.url()), policy()).await;

    let id = "0190b2a4-7c1e-7d3a-9f00-123456789abc";
    let ctx = CallContext::new(CorrelationId::parse(id).unwrap());
    assert_eq!(model.call(ask(), ctx).await.unwrap(), reply());

    let headers = seen.headers.lock().unwrap()[0].clone();
    assert_eq!(headers["x-correlation-id"], id);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let traceparent = headers["traceparent"].to_str().unwrap().to_owned();
    assert_eq!(
        &traceparent[..36],
        "00-0190b2a47c1e7d3a9f00123456789abc-",
        "the UUID correlation ID is the trace ID"
    );
    assert!(traceparent.ends_with("-01"));
    assert_eq!(trace::trace_id(id), 0x0190b2a4_7c1e_7d3a_9f00_123456789abc);
    assert_eq!(seen.bodies.lock().unwrap()[0].text, "great");
    runtime.shutdown().await;
}

#[tokio::test]
async fn status_500_is_transient_and_retried_with_a_new_span_each_attempt() {
    let seen = Arc::new(Seen::default());
    let first_fails = scripted(|n| match n {
        1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => Json(reply()).into_response(),
    });
    let upstream = serve_scripted(&seen, first_fails).await;
    let (runtime, model) = start(upstream.url(), with_retries(2)).await;

    assert_eq!(
        model.call(ask(), CallContext::untracked()).await.unwrap(),
        reply()
    );
    assert_eq!(seen.hits(), 2, "the 500 was retried once");
    let headers = seen.headers.lock().unwrap().clone();
    let parents: Vec<&str> = headers
        .iter()
        .map(|h| h["traceparent"].to_str().unwrap())
        .collect();
    assert_eq!(parents[0][..36], parents[1][..36], "one trace");
    assert_ne!(parents[0], parents[1], "a span per attempt");

    // Without retries the 500 comes back as a transient failure caused by the status.
    seen.hits.store(0, Ordering::SeqCst);
    let (_rt2, once) = start(upstream.url(), policy()).await;
    let err = once
        .call(ask(), CallContext::untracked())
        .await
        .unwrap_err();
    let (last, _) = failed(&err);
    assert_eq!(last.kind(), FailureKind::Transient);
    assert!(matches!(
        http_cause(&err),
        HttpError::Status { status, .. } if status.as_u16() == 500
    ));
    runtime.shutdown().await;
}

#[tokio::test]
async fn status_503_with_retry_after_is_honoured() {
    let seen = Arc::new(Seen::default());
    let first_busy = scripted(|n| match n {
        1 => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response(),
        _ => Json(reply()).into_response(),
    })
    .route(
        "/dated",
        post(|| async {
            let at = SystemTime::now() + Duration::from_secs(3);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, httpdate::fmt_http_date(at))],
            )
        }),
    );
    let upstream = serve_scripted(&seen, first_busy).await;
    let (runtime, model) = start(upstream.url(), with_retries(2)).await;

    // The backoff alone would wait 10–20 ms; the server asked for a second.
    assert_eq!(
        model.call(ask(), CallContext::untracked()).await.unwrap(),
        reply()
    );
    let at = seen.at.lock().unwrap().clone();
    assert_eq!(at.len(), 2);
    assert!(
        at[1] - at[0] >= Duration::from_secs(1),
        "retried after {:?}",
        at[1] - at[0]
    );

    // An HTTP-date works too (whole seconds on the wire, so 2–3 s from now).
    let dated = HttpRequest::post(
        "/dated",
        Ask {
            text: String::new(),
        },
    );
    let sent = model
        .dependency()
        .send(&dated, &CallContext::untracked())
        .await;
    let err = classify::classify(sent.unwrap_err());
    assert_eq!(err.kind(), FailureKind::Transient);
    let delay = err.retry_after().unwrap();
    assert!(
        delay > Duration::from_secs(1) && delay <= Duration::from_secs(3),
        "{delay:?}"
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn status_401_is_unauthorized_counted_and_opens_no_breaker() {
    let seen = Arc::new(Seen::default());
    let refusing = scripted(|_| StatusCode::UNAUTHORIZED.into_response());
    let upstream = serve_scripted(&seen, refusing).await;
    let (runtime, model) = start(upstream.url(), with_retries(3)).await;

    for _ in 0..30 {
        let err = model
            .call(ask(), CallContext::untracked())
            .await
            .unwrap_err();
        assert_eq!(err.failure_kind(), Some(FailureKind::Unauthorized));
        assert_eq!(err.outcome_label(), "unauthorized");
    }
    assert_eq!(seen.hits(), 30, "never retried");
    assert_eq!(model.flush().await.unwrap(), Circuit::Closed);
    let snapshot = model.snapshot();
    assert_eq!(snapshot.unauthorized.total, 30);
    assert!(snapshot.unauthorized.last_at_nanos.is_some());
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_hang_past_the_read_timeout_is_a_transient_timeout() {
    let app = axum::Router::new().route(
        "/predict",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(reply())
        }),
    );
    let upstream = loopback::serve(app).await;
    let mut short_read = policy();
    short_read.timeout = TimeoutPolicy::new(
        Duration::from_secs(10),
        Duration::from_millis(500),
        Duration::from_millis(200),
    )
    .unwrap();
    let (runtime, model) = start(upstream.url(), short_read).await;

    let start = Instant::now();
    let err = model
        .call(ask(), CallContext::untracked())
        .await
        .unwrap_err();
    let took = start.elapsed();
    let (last, attempts) = failed(&err);
    assert_eq!((last.kind(), attempts), (FailureKind::Transient, 1));
    assert!(matches!(http_cause(&err), HttpError::Timeout(_)), "{err:?}");
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(10),
        "the read timeout ended it, not the attempt timeout: {took:?}"
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_refused_port_is_transient_and_safe_to_repeat() {
    let addr = loopback::refused_port().await;
    let (runtime, model) = start(format!("http://{addr}"), with_retries(2)).await;

    // Not idempotent, yet retried: the request never left.
    let ctx = CallContext::untracked().idempotent(false);
    let err = model.call(ask(), ctx).await.unwrap_err();
    let (last, attempts) = failed(&err);
    assert_eq!(last.kind(), FailureKind::Transient);
    assert!(!last.may_have_reached());
    assert_eq!(attempts, 3);
    assert!(matches!(http_cause(&err), HttpError::Connect(_)), "{err:?}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_reset_mid_body_is_transient() {
    let upstream = loopback::raw(|stream| async move {
        loopback::reset_mid_body(stream, 1000, br#"{"label":"posi"#).await;
    })
    .await;
    let (runtime, model) = start(upstream.url(), policy()).await;

    let err = model
        .call(ask(), CallContext::untracked())
        .await
        .unwrap_err();
    let (last, _) = failed(&err);
    assert_eq!(last.kind(), FailureKind::Transient);
    assert!(matches!(http_cause(&err), HttpError::Body(_)), "{err:?}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let app = axum::Router::new()
        // Declared: 5 MiB with a Content-Length, over the 4 MiB default.
        .route("/declared", post(|| async { vec![b' '; 5 * 1024 * 1024] }))
        // Streamed without a length: 64 chunks of 1 KiB.
        .route(
            "/streamed",
            post(|| async {
                let chunks = futures::stream::iter(
                    (0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])),
                );
                axum::body::Body::from_stream(chunks)
            }),
        );
    let upstream = loopback::serve(app).await;
    let (runtime, model) = start(upstream.url(), policy()).await;
    let request = |path: &str| {
        HttpRequest::post(
            path.to_owned(),
            Ask {
                text: String::new(),
            },
        )
    };

    let err = model
        .call(request("/declared"), CallContext::untracked())
        .await
        .unwrap_err();
    assert_eq!(err.failure_kind(), Some(FailureKind::Permanent));
    assert!(
        matches!(
            http_cause(&err),
            HttpError::BodyTooLarge {
                limit: 4_194_304,
                declared: Some(5_242_880)
            }
        ),
        "{err:?}"
    );

    let small = Model::builder(upstream.url())
        .max_response_bytes(16 * 1024)
        .build()
        .unwrap();
    let err = small
        .send(&request("/streamed"), &CallContext::untracked())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::BodyTooLarge {
                limit: 16_384,
                declared: None
            }
        ),
        "{err:?}"
    );
    assert_eq!(classify::classify(err).kind(), FailureKind::Permanent);
    runtime.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_a_permanent_decode_error() {
    let seen = Arc::new(Seen::default());
    let html = scripted(|_| {
        (
            [(header::CONTENT_TYPE, "text/html")],
            "<html>maintenance</html>",
        )
            .into_response()
    })
    .route(
        "/shape",
        get(|| async { Json(serde_json::json!({"label": 3})) }),
    );
    let upstream = serve_scripted(&seen, html).await;
    let (runtime, model) = start(upstream.url(), with_retries(3)).await;

    let html = HttpRequest::post(
        "/predict",
        Ask {
            text: String::new(),
        },
    );
    let err = model
        .call(html, CallContext::untracked())
        .await
        .unwrap_err();
    let (last, attempts) = failed(&err);
    assert_eq!((last.kind(), attempts), (FailureKind::Permanent, 1));
    assert_eq!(seen.hits(), 1, "a permanent failure is not retried");
    let cause = http_cause(&err);
    assert!(
        matches!(cause, HttpError::Decode { content_type: Some(t), .. } if t == "text/html"),
        "{cause:?}"
    );
    assert_eq!(
        cause.to_string(),
        "response is not the expected JSON (content-type: text/html)"
    );
    // The serde error (line, column, what was expected) is kept as the cause of the cause.
    assert!(std::error::Error::source(cause).is_some());

    // Valid JSON of the wrong shape is the same failure.
    let err = model
        .call(HttpRequest::get("/shape"), CallContext::untracked())
        .await
        .unwrap_err();
    assert!(matches!(http_cause(&err), HttpError::Decode { .. }));
    runtime.shutdown().await;
}

#[tokio::test]
async fn the_probe_is_a_get_on_the_health_path() {
    use bulwark_runtime::dependency::{Dependency, Probe};
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    let upstream = loopback::serve(app).await;
    let healthy = Model::builder(upstream.url())
        .probe_path("/health")
        .build()
        .unwrap();
    assert!(matches!(
        healthy.probe(&CallContext::untracked()).await,
        Probe::Healthy
    ));
    let down = Model::builder(upstream.url())
        .probe_path("/down")
        .build()
        .unwrap();
    assert!(matches!(
        down.probe(&CallContext::untracked()).await,
        Probe::Unhealthy(e) if e.is_transient()
    ));
    let none = Model::builder(upstream.url()).build().unwrap();
    assert!(matches!(
        none.probe(&CallContext::untracked()).await,
        Probe::Unsupported
    ));
}

#[test]
fn invalid_settings_are_refused_when_built() {
    use bulwark_runtime::http::InvalidHttpConfig;
    assert!(matches!(
        Model::builder("not a url").build(),
        Err(InvalidHttpConfig::BaseUrl(_))
    ));
    assert!(matches!(
        Model::builder("ftp://host/x").build(),
        Err(InvalidHttpConfig::BaseUrl(_))
    ));
    assert!(matches!(
        Model::builder("http://127.0.0.1:1")
            .max_response_bytes(0)
            .build(),
        Err(InvalidHttpConfig::ResponseLimit)
    ));
    assert!(matches!(
        Model::builder("http://127.0.0.1:1")
            .header("bad header", "x")
            .build(),
        Err(InvalidHttpConfig::Header(_))
    ));
    let with_secret = Model::builder("http://127.0.0.1:1")
        .bearer_auth("s3cret")
        .build()
        .unwrap();
    assert!(!format!("{with_secret:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_closure_guard_using_reqwest_gets_the_same_classes() {
    bulwark_runtime::http::install_default_tls();
    let reset = loopback::raw(|stream| async move {
        loopback::reset_mid_body(stream, 1000, br#"{"label":"posi"#).await;
    })
    .await;
    let app = axum::Router::new().route("/html", get(|| async { "<html>" }));
    let html = loopback::serve(app).await;
    let runtime = Runtime::builder()
        .guard("raw", policy())
        .build()
        .await
        .unwrap();
    let guard = runtime.guard("raw").unwrap();
    let client = reqwest::Client::new();
    let fetch = |url: String| {
        let client = client.clone();
        let guard = guard.clone();
        async move {
            guard
                .run(CallContext::untracked(), |_ctx| {
                    let request = client.get(url.clone());
                    async move { request.send().await?.json::<Reply>().await }
                })
                .await
        }
    };
    // A body broken off mid-read: reqwest calls it a decode error, but it is the connection.
    let err = fetch(reset.url()).await.unwrap_err();
    assert_eq!(err.failure_kind(), Some(FailureKind::Transient), "{err:?}");
    // A body that is not JSON: permanent.
    let err = fetch(format!("{}/html", html.url())).await.unwrap_err();
    assert_eq!(err.failure_kind(), Some(FailureKind::Permanent), "{err:?}");
    runtime.shutdown().await;
}
