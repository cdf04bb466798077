//! A built-in simulator of the upstreams Bulwark calls, served over real HTTP on loopback: an
//! OpenAI-compatible API (chat completions, with streaming, and embeddings), the Anthropic
//! Messages API (with streaming) and a Hugging Face text-classification inference endpoint.
//!
//! `bulwark demo` and `bulwark chaos` start a few of these as stand-ins for real providers, and
//! tests use them as real servers (never a mock object in place of the HTTP client). Each instance
//! has its own [`Faults`] — error rate and status, added latency, hangs, malformed bodies,
//! mid-stream cuts, refused credentials — changeable while it runs, from code
//! ([`Simulator::faults`]) or over HTTP (`GET`/`PUT /_simulator/faults`).
//!
//! ```
//! use bulwark_services::simulator::{Faults, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::start(Default::default()).await?;
//! let url = format!("{}/v1/chat/completions", sim.base_url());
//! sim.faults().set(Faults { error_rate: 1.0, error_status: 503, ..Faults::default() })?;
//! // … calls to `url` now answer 503 with an OpenAI-style error body …
//! sim.faults().heal();
//! sim.stop().await;
//! # Ok(()) }
//! ```

mod anthropic;
mod classify;
mod faults;
mod inference;
mod openai;
mod text;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use classify::{Classifier, keyword_classifier};
pub use faults::{FaultControl, Faults, InvalidFaults};

/// How a simulator instance behaves.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The model name reported in answers.
    pub model: String,
    /// When set, requests must carry this key (`Authorization: Bearer` or `x-api-key`), else 401.
    pub api_key: Option<String>,
    /// Dimension of the embeddings it returns.
    pub embedding_dimension: usize,
    /// How the inference endpoint labels texts.
    pub classifier: Classifier,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            model: "simulated-1".to_owned(),
            api_key: None,
            embedding_dimension: 64,
            classifier: keyword_classifier(),
        }
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("addr", &self.addr)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("embedding_dimension", &self.embedding_dimension)
            .finish_non_exhaustive()
    }
}

/// What every route handler shares.
#[derive(Clone)]
pub(crate) struct SimState {
    pub(crate) config: Arc<SimulatorConfig>,
    pub(crate) faults: FaultControl,
    pub(crate) hits: Arc<AtomicU64>,
}

/// A running simulator.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    faults: FaultControl,
    hits: Arc<AtomicU64>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Simulator {
    /// Binds `config.addr` and serves until [`stop`](Self::stop).
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let faults = FaultControl::default();
        let hits = Arc::new(AtomicU64::new(0));
        let state = SimState {
            config: Arc::new(config),
            faults: faults.clone(),
            hits: Arc::clone(&hits),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            addr,
            faults,
            hits,
            stop,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its faults, changeable while it runs.
    pub fn faults(&self) -> &FaultControl {
        &self.faults
    }

    /// Requests received so far (admin routes excluded).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets open requests finish, and waits for the server task. Hanging
    /// requests are abandoned.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.abort();
        let _ = self.task.await;
    }
}

fn router(state: SimState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::chat))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/messages", post(anthropic::messages))
        .route("/models/{model}", post(inference::classify))
        .route(
            "/_simulator/faults",
            get(faults::get_faults).put(faults::put_faults),
        )
        .route("/_simulator/hits", get(hits))
        .with_state(state)
}

async fn hits(State(state): State<SimState>) -> String {
    state.hits.load(Ordering::Relaxed).to_string()
}
