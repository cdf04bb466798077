//! The closure guard against a real HTTP server on loopback: reqwest's errors are classified by
//! what they mean (503 retried, 404 the caller's fault, a refused port never reached the server).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use bulwark_runtime::breaker::State;
use bulwark_runtime::prelude::*;

/// `/status/{code}` answers with that status; `/flaky` answers 503 twice, then 200.
async fn upstream() -> (String, Arc<AtomicU32>) {
    let flaky = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&flaky);
    let app = axum::Router::new()
        .route(
            "/status/{code}",
            axum::routing::get(|Path(code): Path<u16>| async move {
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
            }),
        )
        .route(
            "/flaky",
            axum::routing::get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, flaky)
}

async fn get(guard: &Guard, client: &reqwest::Client, url: String) -> Result<u16, CallError> {
    guard
        .run(CallContext::untracked(), |_| {
            let request = client.get(&url);
            async move {
                Ok::<_, reqwest::Error>(request.send().await?.error_for_status()?.status().as_u16())
            }
        })
        .await
}

fn fast_retries() -> Policy {
    Policy::from_toml(
        r#"
        [retry]
        max_retries = 3
        backoff = { initial = "10ms", multiplier = 2.0, max = "50ms", jitter = "0ms" }
        [breaker]
        window = { kind = "count", size = 10 }
        minimum_calls = 5
        "#,
    )
    .unwrap()
}

#[tokio::test]
async fn reqwest_errors_are_classified_through_the_guard() {
    let (base, flaky) = upstream().await;
    let runtime = Runtime::builder()
        .guard("http", fast_retries())
        .build()
        .await
        .unwrap();
    let guard = runtime.guard("http").unwrap();
    bulwark_runtime::http::install_default_tls();
    let client = reqwest::Client::new();

    // 503 twice, then 200: retried until it answers.
    assert_eq!(
        get(&guard, &client, format!("{base}/flaky")).await.unwrap(),
        200
    );
    assert_eq!(flaky.load(Ordering::SeqCst), 3);

    // 404 is the caller's fault: one attempt, ignored by the breaker, even many times over.
    for _ in 0..20 {
        let err = get(&guard, &client, format!("{base}/status/404"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Failed { attempts: 1, .. }),
            "{err}"
        );
        assert_eq!(err.failure_kind(), Some(FailureKind::RejectedRequest));
    }
    assert_eq!(guard.flush().await.unwrap(), State::Closed);

    // 500s count against it and open it.
    for _ in 0..5 {
        let _ = get(&guard, &client, format!("{base}/status/500")).await;
    }
    assert_eq!(guard.flush().await.unwrap(), State::Open);
    let err = get(&guard, &client, format!("{base}/status/200"))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::CircuitOpen { .. }), "{err}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_refused_port_is_transient_and_never_reached_the_server() {
    // Bind then drop: nothing listens on this port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let runtime = Runtime::builder()
        .guard("nowhere", fast_retries())
        .build()
        .await
        .unwrap();
    let guard = runtime.guard("nowhere").unwrap();
    bulwark_runtime::http::install_default_tls();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let err = guard
        .run(CallContext::untracked().idempotent(false), |_| {
            let request = client.post(format!("http://{addr}/"));
            async move { request.send().await.map(|r| r.status().as_u16()) }
        })
        .await
        .unwrap_err();
    // Not idempotent, yet retried: a refused connection certainly did not reach the server.
    assert!(
        matches!(err, CallError::Failed { attempts: 4, .. }),
        "{err}"
    );
    let cause = bulwark_runtime::error::chain(&err).to_string();
    assert!(cause.contains("nowhere"), "{cause}");
    runtime.shutdown().await;
}
