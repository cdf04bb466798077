//! The `bulwark` binary as a user runs it: `bulwark serve` on a free port, then the service's
//! own routes over HTTP, `/metrics` checked by `promtool check metrics`, and a clean stop on
//! SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `bulwark serve` on port 0 and answers the child and its address, read from the
/// "bulwark listening" log line.
async fn serve(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let Ok(json) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if json["message"] == "bulwark listening" {
                return json["addr"].as_str().unwrap().to_owned();
            }
        }
        panic!("bulwark exited before listening");
    })
    .await
    .expect("bulwark did not start listening within 30 s");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_its_routes_and_its_metrics_pass_promtool() {
    bulwark_runtime::http::install_default_tls();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path()).await;
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
