//! The `bulwark` binary as a user runs it, for the test binaries that spawn it: `bulwark serve`
//! on port 0, its address read from the "bulwark listening" log line.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `bulwark [global…] serve` on a free loopback port with JSON logs and `data_dir`, and
/// answers the child (killed on drop) and its base URL. Its log keeps being drained so it never
/// blocks on a full pipe.
pub(crate) async fn serve(global: &[&OsStr], data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(global)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
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
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
}
