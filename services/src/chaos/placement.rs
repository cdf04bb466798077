//! Where the service under test runs: in this process (so faults can reach its actors and its
//! stores through the runtime's fault injector), or as a child `bulwark serve` process (so it can
//! be SIGKILLed and restarted on the same data directory, as `crash_restart` needs).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::chaos::FaultControl;
use bulwark_runtime::dependency::Controls;
use bulwark_runtime::runtime::Runtime;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::RunError;
use crate::config::Config;
use crate::gateway::server::{Server, ServerError, Shutdown};
use crate::service::{Hooks, Service};

/// How long a started service may take to answer `/livez`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The service under test.
#[derive(Debug)]
pub enum Placement {
    /// Started in this process.
    InProcess(InProcess),
    /// A child `bulwark serve` process.
    Child(ChildService),
}

/// The service started in this process, served on loopback.
#[derive(Debug)]
pub struct InProcess {
    service: Service,
    store_faults: FaultControl,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<Shutdown, ServerError>>,
}

/// The service as a child process.
#[derive(Debug)]
pub struct ChildService {
    binary: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    addr: SocketAddr,
    child: Child,
    restarts: u64,
}

impl Placement {
    /// Starts the service of `config` in this process, listening on `config.server.addr`.
    pub async fn in_process(config: &Config) -> Result<(Self, SocketAddr), RunError> {
        let store_faults = FaultControl::default();
        let server = Server::new(&config.server).map_err(RunError::Server)?;
        let addr = config.server.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RunError::Bind { addr, source })?;
        let local = listener.local_addr().unwrap_or(addr);
        let service = Service::start_with(config, Hooks::store_faults(store_faults.clone()))
            .await
            .map_err(RunError::Start)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = service.router.clone();
        let server = tokio::spawn(server.serve(listener, router, async {
            let _ = stopped.await;
        }));
        let placement = Self::InProcess(InProcess {
            service,
            store_faults,
            stop,
            server,
        });
        Ok((placement, local))
    }

    /// Starts `binary serve --config config_path` on `addr` and waits until it answers.
    pub async fn child(
        binary: PathBuf,
        config_path: PathBuf,
        addr: SocketAddr,
        client: &reqwest::Client,
    ) -> Result<(Self, SocketAddr), RunError> {
        let log_path = config_path.with_extension("log");
        let child = spawn(&binary, &config_path, &log_path, addr)?;
        let mut service = ChildService {
            binary,
            config_path,
            log_path,
            addr,
            child,
            restarts: 0,
        };
        service.wait_ready(client).await?;
        Ok((Self::Child(service), addr))
    }

    /// The runtime, when the service runs in this process.
    pub fn runtime(&self) -> Option<&Runtime> {
        match self {
            Self::InProcess(p) => Some(&p.service.runtime),
            Self::Child(_) => None,
        }
    }

    /// The controls of every dependency (none for a child process).
    pub fn controls(&self) -> Vec<Controls> {
        let Some(runtime) = self.runtime() else {
            return Vec::new();
        };
        runtime
            .dependency_names()
            .iter()
            .filter_map(|name| runtime.controls(name))
            .collect()
    }

    /// Circuits that are open or half-open, by dependency; `None` for a child process.
    pub fn open_circuits(&self) -> Option<Vec<(String, State)>> {
        self.runtime()?;
        let open = self
            .controls()
            .iter()
            .map(|c| (c.name().to_owned(), c.state()))
            .filter(|(_, state)| matches!(state, State::Open | State::HalfOpen | State::ForcedOpen))
            .collect();
        Some(open)
    }

    /// Actor restarts so far (in process), or process restarts (child).
    pub fn restarts(&self) -> u64 {
        match self {
            Self::InProcess(_) => self.controls().iter().map(Controls::restarts).sum(),
            Self::Child(child) => child.restarts,
        }
    }

    /// The fault control of the auth user stores (in process only).
    pub fn store_faults(&self) -> Option<&FaultControl> {
        match self {
            Self::InProcess(p) => Some(&p.store_faults),
            Self::Child(_) => None,
        }
    }

    /// SIGKILLs the child process and starts it again on the same address and data directory.
    pub async fn crash_restart(&mut self, client: &reqwest::Client) -> Result<(), RunError> {
        let Self::Child(service) = self else {
            return Err(RunError::NotAChild);
        };
        service.child.start_kill().map_err(RunError::Spawn)?;
        let _ = service.child.wait().await;
        service.child = spawn(
            &service.binary,
            &service.config_path,
            &service.log_path,
            service.addr,
        )?;
        service.restarts += 1;
        service.wait_ready(client).await
    }

    /// Stops the service: in process, the server drains and every actor stops; a child is
    /// killed.
    pub async fn stop(self) {
        match self {
            Self::InProcess(p) => {
                let _ = p.stop.send(());
                let _ = p.server.await;
                p.service.shutdown().await;
            }
            Self::Child(mut c) => {
                let _ = c.child.start_kill();
                let _ = c.child.wait().await;
            }
        }
    }
}

impl ChildService {
    /// Polls `/livez` until it answers 200; fails if the process exits or takes too long.
    async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<(), RunError> {
        let url = format!("http://{}/livez", self.addr);
        let ready = async {
            loop {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(RunError::ChildExited {
                        status: status.to_string(),
                        log: self.log_path.clone(),
                    });
                }
                let answered = client
                    .get(&url)
                    .timeout(Duration::from_secs(1))
                    .send()
                    .await;
                if answered.is_ok_and(|r| r.status().is_success()) {
                    return Ok(());
                }
                // Polling a process that is starting: there is no event to wait on.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(START_TIMEOUT, ready)
            .await
            .map_err(|_| RunError::NotReady(START_TIMEOUT))?
    }
}

fn spawn(
    binary: &Path,
    config_path: &Path,
    log_path: &Path,
    addr: SocketAddr,
) -> Result<Child, RunError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(RunError::Spawn)?;
    Command::new(binary)
        .arg("--config")
        .arg(config_path)
        .args(["serve", "--log-format", "json", "--addr"])
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(RunError::Spawn)
}

/// A loopback address with a port that was free a moment ago (for a child that must come back
/// on the same port after a crash).
pub fn free_loopback_addr() -> Result<SocketAddr, RunError> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let probe =
        std::net::TcpListener::bind(any).map_err(|source| RunError::Bind { addr: any, source })?;
    probe
        .local_addr()
        .map_err(|source| RunError::Bind { addr: any, source })
}
