//! The `bulwark` binary as a user runs it: `bulwark serve` on a free port, then the service's
//! own routes over HTTP, `/metrics` checked by `promtool check metrics`, and a clean stop on
//! SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

#[path = "common/binary.rs"]
mod binary;

/// `bulwark serve` with a fresh data dir under `dir`.
async fn serve(dir: &std::path::Path) -> (Child, String) {
    binary::serve(&[], &dir.join("data")).await
}

/// [`serve`] with global arguments before the subcommand (`--config FILE`).
async fn serve_with(dir: &std::path::Path, global: &[&std::ffi::OsStr]) -> (Child, String) {
    binary::serve(global, &dir.join("data")).await
}

fn promtool() -> Option<&'static str> {
    let found = std::process::Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return Some("promtool");
    }
    if std::env::var_os("BULWARK_SKIP_PROMTOOL").is_some() {
        eprintln!("skipping promtool check: BULWARK_SKIP_PROMTOOL is set");
        return None;
    }
    panic!("promtool is not installed: run `bash scripts/test.sh`, which installs it");
}

/// Stops `child` with SIGTERM and checks it exits 0 within 20 s.
async fn terminate(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("bulwark did not stop within 20 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_its_routes_and_its_metrics_pass_promtool() {
    bulwark_runtime::http::install_default_tls();
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve(dir.path()).await;
    let client = reqwest::Client::new();

    for (path, status) in [
        ("/livez", 200),
        ("/readyz", 200),
        ("/status", 200),
        ("/openapi.json", 200),
        ("/nope", 404),
        ("/status?x=1", 400),
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let id = response.headers()["x-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        if status >= 400 {
            assert_eq!(body["correlation_id"], id, "{path}: {body}");
            assert_eq!(body["status_code"], status, "{path}: {body}");
        }
    }

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bulwark_http_requests_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/livez\""), "{metrics}");
    if let Some(promtool) = promtool() {
        let mut check = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = check.stdin.take().unwrap();
        stdin.write_all(metrics.as_bytes()).await.unwrap();
        drop(stdin);
        let output = check.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "promtool check metrics failed:\n{}{}\n--- metrics ---\n{metrics}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // SIGTERM: a graceful stop, exit code 0.
    terminate(child).await;
}

/// One OTLP/HTTP export as a collector receives it.
struct Export {
    content_type: String,
    body: Vec<u8>,
}

/// A collector on loopback: `POST /v1/traces` answers 200 and hands each body to the test.
async fn collector() -> (String, tokio::sync::mpsc::Receiver<Export>) {
    use axum::http::HeaderMap;
    use axum::routing::post;

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let router = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx
                    .send(Export {
                        content_type,
                        body: body.to_vec(),
                    })
                    .await;
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), rx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `[telemetry] otlp_endpoint` set: the binary exports its spans as OTLP/HTTP protobuf to a real
/// collector on loopback, the request span in the client's trace, and flushes them on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exports_request_spans_to_an_otlp_collector() {
    bulwark_runtime::http::install_default_tls();
    let (endpoint, mut exports) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bulwark.toml");
    std::fs::write(
        &config,
        format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\nservice_name = \"bulwark-e2e\"\n"),
    )
    .unwrap();
    let (child, base) = serve_with(dir.path(), &["--config".as_ref(), config.as_os_str()]).await;

    let trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .get(format!("{base}/status"))
        .header("traceparent", format!("00-{trace_hex}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    terminate(child).await;

    let trace_id: Vec<u8> = (0..trace_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_hex[i..i + 2], 16).unwrap())
        .collect();
    let mut seen = Vec::new();
    while let Ok(export) = exports.try_recv() {
        seen.push(export);
    }
    assert!(!seen.is_empty(), "the collector received no export");
    assert!(
        seen.iter()
            .all(|e| e.content_type == "application/x-protobuf"),
        "content types: {:?}",
        seen.iter().map(|e| &e.content_type).collect::<Vec<_>>()
    );
    let found = seen.iter().any(|e| {
        contains(&e.body, &trace_id)
            && contains(&e.body, b"request")
            && contains(&e.body, b"bulwark-e2e")
    });
    assert!(found, "no exported span carries the client's trace id");
}
