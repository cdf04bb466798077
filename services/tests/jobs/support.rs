//! Serving the product app (or the job routes with a processor of the test's choosing) on an
//! ephemeral loopback port, a gated processor, and polling helpers bounded in time.
#![allow(dead_code, unreachable_pub)]

#[path = "../common/pipeline.rs"]
mod pipeline;
pub use pipeline::{Served, serve_with as serve};

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::config::Config;
use bulwark_services::gateway::{AppState, GatewayConfig, build};
use bulwark_services::jobs::processor::{JobProcessor, ProcessError};
use bulwark_services::jobs::routes::{self, JobsApi};
use bulwark_services::jobs::{JobQueue, JobsConfig};
use bulwark_services::service::Service;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Every test runs inside this bound, so a regression fails instead of hanging.
pub const TEST_BOUND: Duration = Duration::from_secs(60);

/// Runs `test` and fails if it takes longer than [`TEST_BOUND`].
pub async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_BOUND, test)
        .await
        .expect("test did not finish within its bound");
}

/// The product configuration on `data_dir`, rate limits off (tests post fast), cheap hashing.
pub fn product_config(data_dir: &Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    config.server.rate_limit.enabled = false;
    config.auth.hasher.memory_kib = 64;
    config.auth.hasher.iterations = 1;
    config
}

/// The whole service (`Service::start`, as `bulwark serve` runs it) on a real socket.
pub async fn serve_product(config: &Config) -> (Service, Served) {
    let service = Service::start(config).await.unwrap();
    let served = serve(&config.server, service.router.clone()).await;
    (service, served)
}

/// The job routes with `processor`, through the product's gateway middleware.
pub async fn serve_jobs<P: JobProcessor>(
    config: &JobsConfig,
    data_dir: &Path,
    processor: P,
) -> (Runtime, JobQueue, Served) {
    let runtime = Runtime::builder().build().await.unwrap();
    let queue = JobQueue::start(&runtime, config, data_dir, processor, None)
        .await
        .unwrap();
    let mut gateway = GatewayConfig::default();
    gateway.rate_limit.enabled = false;
    let state = AppState::builder(gateway.clone(), runtime.clone())
        .openapi(<JobsApi as utoipa::OpenApi>::openapi())
        .build();
    let app = build(
        bulwark_services::gateway::app::routes().merge(routes::routes(queue.clone())),
        state,
    );
    let served = serve(&gateway, app).await;
    (runtime, queue, served)
}

/// A processor that holds every job until the test lets one through, and counts the jobs it
/// started.
#[derive(Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
    pub started: Arc<AtomicUsize>,
    pub entered: Arc<tokio::sync::Notify>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(0)),
            started: Arc::default(),
            entered: Arc::default(),
        }
    }
}

impl Gate {
    /// Lets `n` more jobs finish.
    pub fn open(&self, n: usize) {
        self.permits.add_permits(n);
    }

    /// Waits until `n` jobs have started.
    pub async fn started(&self, n: usize) {
        loop {
            let entered = self.entered.notified();
            if self.started.load(Ordering::SeqCst) >= n {
                return;
            }
            entered.await;
        }
    }
}

impl JobProcessor for Gate {
    type Output = Value;

    async fn process(
        &self,
        _ctx: &CallContext,
        texts: &[String],
    ) -> Result<Vec<Value>, ProcessError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.entered.notify_waiters();
        let permit = self.permits.acquire().await.unwrap();
        permit.forget();
        Ok(texts.iter().map(|t| json!({"len": t.len()})).collect())
    }
}

pub fn client() -> reqwest::Client {
    bulwark_runtime::http::install_default_tls();
    reqwest::Client::new()
}

/// POSTs `body` to the job route: status, headers, JSON.
pub async fn post_job(
    client: &reqwest::Client,
    base: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = client
        .post(format!("{base}/v1/sentiment/jobs"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

/// GETs a job: status and JSON.
pub async fn get_job(client: &reqwest::Client, base: &str, id: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}/v1/sentiment/jobs/{id}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Polls the status route until the job is final; answers its last view.
pub async fn until_final(client: &reqwest::Client, base: &str, id: &str) -> Value {
    loop {
        let (status, job) = get_job(client, base, id).await;
        assert_eq!(status, 200, "{job}");
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks the standard error body and its correlation ID against the response header.
pub fn assert_standard(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    code: &str,
) {
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(
        body["correlation_id"],
        headers["x-correlation-id"].to_str().unwrap(),
        "{body}"
    );
}
