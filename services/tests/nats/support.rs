//! A throwaway `nats-server -js` on a free loopback port with a temporary store, `bulwark serve`
//! nodes pointed at it, and a client that retries like the clients do (same correlation
//! ID on a timeout or when no node is subscribed yet). Every wait is on an event, bounded.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use serde_json::Value;

/// Runs `test` and fails if it takes longer than `bound`, so a regression fails instead of hanging.
pub async fn bounded<F: Future<Output = ()>>(bound: Duration, test: F) {
    tokio::time::timeout(bound, test)
        .await
        .expect("test did not finish within its bound");
}

/// A nats-server with JetStream; killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts one on a free loopback port and waits for its "Server is ready" line.
    pub fn start() -> Self {
        let port = free_port();
        let store = tempfile::tempdir().unwrap();
        let mut server = Self {
            child: None,
            port,
            store,
        };
        server.restart();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGTERM, then waits for the exit).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and store.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (scripts/test.sh installs it)");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Server is ready") => break,
                Some(Ok(_)) => {}
                _ => panic!("nats-server exited before it was ready"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `bulwark serve` process with `[nats]` pointed at a server.
pub struct Node {
    pub child: tokio::process::Child,
    pub base: String,
    pub name: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts node `name` on `url` with `extra` appended to its config file.
    pub async fn start(name: &str, url: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bulwark.toml");
        std::fs::write(&config, node_config(name, url, extra)).unwrap();
        let data = dir.path().join("data");
        let (child, base) = serve(&config, &data).await;
        Self {
            child,
            base,
            name: name.to_owned(),
            _dir: dir,
        }
    }

    /// SIGKILL, and waits for the exit.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// `GET /readyz` as JSON.
    pub async fn readiness(&self) -> Value {
        http()
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn serve(config: &Path, data: &Path) -> (tokio::process::Child, String) {
    crate::binary::serve(&["--config".as_ref(), config.as_os_str()], data).await
}

fn node_config(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[server.rate_limit]\nenabled = false\n\n[nats]\nurl = \"{url}\"\nnode_name = \"{name}\"\n\
         job_ack_wait = \"1s\"\nreconnect_max_delay = \"200ms\"\n{extra}"
    )
}

/// A test client.
pub async fn client(url: &str) -> Client {
    async_nats::ConnectOptions::new()
        .connect(url)
        .await
        .unwrap()
}

/// A reply, read.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `Status` header, 200 without one.
    pub status: u16,
    pub correlation_id: String,
    pub node: String,
    pub content_type: String,
    pub payload: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap()
    }

    fn of(message: async_nats::Message) -> Self {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        };
        Self {
            status: header("Status").parse().unwrap_or(200),
            correlation_id: header("Correlation-Id"),
            node: header("Bulwark-Node"),
            content_type: header("Content-Type"),
            payload: message.payload,
        }
    }
}

/// One request, no retry.
pub async fn request_once(
    client: &Client,
    subject: &str,
    headers: HeaderMap,
    payload: Bytes,
    timeout: Duration,
) -> Result<Reply, async_nats::RequestError> {
    let request = async_nats::Request::new()
        .headers(headers)
        .payload(payload)
        .timeout(Some(timeout));
    client
        .send_request(subject.to_owned(), request)
        .await
        .map(Reply::of)
}

/// A request as the clients send it: on a timeout or "no responders" it is sent again
/// with the same correlation ID, up to `tries` times.
pub async fn request(
    client: &Client,
    subject: &str,
    correlation_id: &str,
    content_type: &str,
    payload: Bytes,
    timeout: Duration,
    tries: usize,
) -> Reply {
    let mut headers = HeaderMap::new();
    headers.insert("Correlation-Id", correlation_id);
    headers.insert("Content-Type", content_type);
    let mut last = None;
    for _ in 0..tries {
        match request_once(client, subject, headers.clone(), payload.clone(), timeout).await {
            Ok(reply) => return reply,
            Err(error) => last = Some(error),
        }
    }
    panic!("{subject} {correlation_id}: no reply after {tries} tries: {last:?}");
}

/// JSON request with a retry budget that covers a node's start.
pub async fn json_request(client: &Client, subject: &str, id: &str, body: &Value) -> Reply {
    let payload = Bytes::from(serde_json::to_vec(body).unwrap());
    request(
        client,
        subject,
        id,
        "application/json",
        payload,
        Duration::from_secs(2),
        10,
    )
    .await
}

/// Waits until `node` answers over NATS (its subscriptions reached the server).
pub async fn wait_serving(client: &Client, node: &str) {
    let body = serde_json::json!({"text": "ping"});
    let payload = Bytes::from(serde_json::to_vec(&body).unwrap());
    // Polled (every 20 ms, at most 30 s) until the event: a reply from this very node.
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    for attempt in 0..1500 {
        poll.tick().await;
        let mut headers = HeaderMap::new();
        headers.insert("Correlation-Id", format!("wait-{node}-{attempt}").as_str());
        let answered = request_once(
            client,
            "bulwark.v1.sentiment",
            headers,
            payload.clone(),
            Duration::from_millis(500),
        )
        .await;
        match answered {
            Ok(reply) if reply.node == node => return,
            Ok(_) | Err(_) => {}
        }
    }
    panic!("node {node} never answered over NATS");
}

/// The work-queue stream's consumer, once some node has created it.
pub async fn jobs_consumer(
    client: &Client,
) -> jetstream::consumer::Consumer<jetstream::consumer::pull::Config> {
    let js = jetstream::new(client.clone());
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..1500 {
        poll.tick().await;
        if let Ok(stream) = js.get_stream("BULWARK_JOBS").await
            && let Ok(consumer) = stream.get_consumer("bulwark").await
        {
            return consumer;
        }
    }
    panic!("no node created the jobs stream and consumer");
}

/// Publishes a job to the work queue (deduplicated by its id) and waits for the stream's ack.
pub async fn publish_job(client: &Client, job_id: &str, texts: &[&str]) {
    let js = jetstream::new(client.clone());
    let body = serde_json::json!({"job_id": job_id, "texts": texts});
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", job_id);
    headers.insert("Correlation-Id", format!("job-{job_id}").as_str());
    let ack = js
        .publish_with_headers(
            "bulwark.v1.jobs.sentiment",
            headers,
            Bytes::from(serde_json::to_vec(&body).unwrap()),
        )
        .await
        .unwrap();
    ack.await.unwrap();
}

/// An HTTP client (reqwest is built without a bundled crypto provider).
pub fn http() -> reqwest::Client {
    bulwark_runtime::http::install_default_tls();
    reqwest::Client::new()
}
