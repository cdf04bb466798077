//! [`run`]: one chaos experiment from start to report — the lab's upstreams, the service, the
//! open-loop traffic, the fault schedule, the breaker timeline, the job check — with a progress
//! callback once per second.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::inject::{self, FaultEvent};
use super::lab::Lab;
use super::loadgen::{self, AcceptedJobs, Live, Target};
use super::placement::{self, Placement};
use super::record::Tally;
use super::report::{ChaosReport, Observed};
use super::scenario::{FaultKind, FaultStep, Scenario};
use super::timeline::Timeline;
use crate::config::{Config, ConfigError};
use crate::gateway::server::ServerError;
use crate::service::StartError;

/// How long accepted jobs may take to finish once the traffic has stopped.
const JOB_DRAIN: Duration = Duration::from_secs(60);

/// A run could not be carried out (as opposed to a run whose SLOs failed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The simulated upstreams could not start.
    #[error("cannot start the simulated upstreams")]
    Lab(#[source] std::io::Error),
    /// The data directory could not be prepared.
    #[error("cannot prepare the data directory {}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The lab's configuration was refused (a bug in the lab).
    #[error("the lab's service configuration is invalid")]
    Config(#[source] ConfigError),
    /// The service's address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The gateway refused its settings.
    #[error("gateway")]
    Server(#[source] ServerError),
    /// The service could not start in this process.
    #[error("service")]
    Start(#[source] StartError),
    /// The `bulwark` executable could not be started or stopped.
    #[error("cannot run the bulwark executable")]
    Spawn(#[source] std::io::Error),
    /// The child service exited while starting.
    #[error("bulwark serve exited ({status}) while starting; its log: {}", log.display())]
    ChildExited {
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The service did not answer `/livez` in time.
    #[error("the service did not answer /livez within {0:?}")]
    NotReady(Duration),
    /// A crash was asked of a service running in this process.
    #[error("crash_restart needs the service in a child process")]
    NotAChild,
    /// The HTTP client could not be built.
    #[error("HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Settings of a run besides its scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the service listens; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Where the service keeps its state; default a fresh temporary directory.
    pub data_dir: Option<PathBuf>,
    /// The `bulwark` executable, for scenarios that crash the process; default this executable.
    pub binary: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            binary: None,
        }
    }
}

/// What a run tells its caller while it goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// The service answers at `base_url`; traffic starts now.
    Started {
        /// `http://127.0.0.1:PORT`.
        base_url: String,
        /// The service's configuration file the lab wrote.
        config_path: PathBuf,
    },
    /// One second of traffic.
    Second(Box<Progress>),
    /// A fault started or ended.
    Fault(FaultEvent),
    /// The traffic has stopped; accepted jobs are being checked.
    Draining,
}

/// One second of a run.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Time since the start of traffic.
    pub elapsed: Duration,
    /// What the last second's requests did.
    pub second: Tally,
    /// Circuits that are open or half-open; `None` when the service runs in another process.
    pub circuits: Option<Vec<(String, State)>>,
}

impl Progress {
    /// The progress line: elapsed, rate, availability, p99, circuits not closed.
    pub fn line(&self) -> String {
        let circuits = match &self.circuits {
            None => String::new(),
            Some(open) if open.is_empty() => "all circuits closed".to_owned(),
            Some(open) => open
                .iter()
                .map(|(name, state)| format!("{name} {}", state_word(*state)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!(
            "[{:>3}s] {:>4} req/s  availability {:>6.2} %  p99 {:>7.1} ms  {circuits}",
            self.elapsed.as_secs(),
            self.second.requests,
            self.second.availability() * 100.0,
            self.second.quantile_ms(0.99),
        )
    }
}

fn state_word(state: State) -> &'static str {
    match state {
        State::Closed => "CLOSED",
        State::Open => "OPEN",
        State::HalfOpen => "HALF-OPEN",
        State::ForcedOpen => "FORCED-OPEN",
        State::Disabled => "DISABLED",
        State::MetricsOnly => "METRICS-ONLY",
    }
}

/// Runs `scenario` and answers its report; `on_event` hears of the start, each second and each
/// fault.
pub async fn run(
    scenario: &Scenario,
    options: RunOptions,
    on_event: impl Fn(Event) + Send + Sync + 'static,
) -> Result<ChaosReport, RunError> {
    let on_event = Arc::new(on_event);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(RunError::Client)?;
    let lab = Arc::new(Lab::start().await.map_err(RunError::Lab)?);
    // Without a data directory the run gets a temporary one, removed when the run ends.
    let temp = match &options.data_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|source| RunError::DataDir {
            path: std::env::temp_dir(),
            source,
        })?),
    };
    let data_dir = match (&options.data_dir, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, temp) => temp
            .as_ref()
            .map_or_else(std::env::temp_dir, |t| t.path().to_owned()),
    };
    std::fs::create_dir_all(&data_dir).map_err(|source| RunError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let config_path = data_dir.join("chaos-lab.toml");
    let config_text = lab.config_with(&data_dir, &scenario.service);
    std::fs::write(&config_path, config_text).map_err(|source| RunError::DataDir {
        path: config_path.clone(),
        source,
    })?;
    let mut config = Config::load(Some(&config_path)).map_err(RunError::Config)?;

    let crashes = scenario
        .faults
        .iter()
        .any(|f| f.kind == FaultKind::CrashRestart);
    let (placement, addr) = if crashes {
        let binary = match options.binary.clone() {
            Some(binary) => binary,
            None => std::env::current_exe().map_err(RunError::Spawn)?,
        };
        let addr = if options.addr.port() == 0 {
            placement::free_loopback_addr()?
        } else {
            options.addr
        };
        Placement::child(binary, config_path.clone(), addr, &client).await?
    } else {
        config.server.addr = options.addr;
        Placement::in_process(&config).await?
    };
    let base_url = format!("http://{addr}");
    let outcome = drive(
        scenario,
        &lab,
        placement,
        &client,
        &base_url,
        &config_path,
        &on_event,
    )
    .await;
    if let Ok(lab) = Arc::try_unwrap(lab) {
        lab.stop().await;
    }
    drop(temp);
    outcome
}

/// Everything between a started service and the report.
async fn drive(
    scenario: &Scenario,
    lab: &Arc<Lab>,
    placement: Placement,
    client: &reqwest::Client,
    base_url: &str,
    config_path: &std::path::Path,
    on_event: &Arc<impl Fn(Event) + Send + Sync + 'static>,
) -> Result<ChaosReport, RunError> {
    prepare(scenario, client, base_url).await;
    let timeline = Timeline::watch(placement.controls());
    let restarts_before = placement.restarts();
    let placement = Arc::new(Mutex::new(placement));

    on_event(Event::Started {
        base_url: base_url.to_owned(),
        config_path: config_path.to_owned(),
    });
    let start = Instant::now();
    let end = start + scenario.duration;
    let schedule = {
        let on_event = Arc::clone(on_event);
        tokio::spawn(inject::run_schedule(
            scenario.faults.clone(),
            Arc::clone(lab),
            Arc::clone(&placement),
            client.clone(),
            start,
            end,
            move |event| on_event(Event::Fault(event)),
        ))
    };
    let live = Arc::new(Live::default());
    let progress = tokio::spawn(report_progress(
        Arc::clone(&live),
        Arc::clone(&placement),
        start,
        Arc::clone(on_event),
    ));
    let jobs = AcceptedJobs::default();
    let target = Target {
        base_url: base_url.to_owned(),
        client: client.clone(),
    };
    loadgen::run(scenario, &target, &live, &jobs).await;
    let traffic_end = Instant::now();
    progress.abort();
    // Both tasks hold the placement: wait until they have let go of it.
    let _ = progress.await;
    let _ = schedule.await;
    lab.heal();

    on_event(Event::Draining);
    let accepted: Vec<String> = jobs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let lost = unfinished_jobs(client, base_url, &accepted).await;

    let placement = Arc::into_inner(placement).map(Mutex::into_inner);
    let verdict = timeline.verdict(&watched(&scenario.faults, lab), start, traffic_end);
    let restarts = placement
        .as_ref()
        .map_or(0, |p| p.restarts().saturating_sub(restarts_before));
    if let Some(placement) = placement {
        placement.stop().await;
    }
    let observed = Observed {
        breaker_trips: verdict.trips,
        time_to_detect_ms: verdict.detect_ms,
        time_to_recover_ms: verdict.recover_ms,
        restarts,
        jobs_accepted: accepted.len() as u64,
        jobs_lost: lost,
        undetected_faults: verdict.undetected,
        unrecovered_faults: verdict.unrecovered,
    };
    Ok(ChaosReport::new(scenario, &live.total(), &observed))
}

/// The faults with the breaker each one should trip: an upstream's or the store's dependency
/// unless the scenario names one; none for actor panics and crashes, which no breaker sees.
fn watched(faults: &[FaultStep], lab: &Lab) -> Vec<FaultStep> {
    faults
        .iter()
        .map(|fault| {
            let watch = match fault.kind {
                FaultKind::Upstream | FaultKind::StoreOutage => Some(
                    fault
                        .watch
                        .clone()
                        .unwrap_or_else(|| lab.dependency_of(&fault.target)),
                ),
                FaultKind::ActorPanic | FaultKind::CrashRestart => Some(String::new()),
            };
            FaultStep {
                watch,
                ..fault.clone()
            }
        })
        .collect()
}

/// Before the traffic: the users the scenario logs in as are registered.
async fn prepare(scenario: &Scenario, client: &reqwest::Client, base_url: &str) {
    for traffic in &scenario.traffic {
        if traffic.route == "/v1/auth/token" {
            for body in traffic.variants() {
                // 201, or 409 when it exists already: either way the user can log in.
                let _ = client
                    .post(format!("{base_url}/v1/auth/register"))
                    .json(&body)
                    .send()
                    .await;
            }
        }
    }
}

async fn report_progress(
    live: Arc<Live>,
    placement: Arc<Mutex<Placement>>,
    start: Instant,
    on_event: Arc<impl Fn(Event) + Send + Sync + 'static>,
) {
    let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        tick.tick().await;
        // A crash in progress holds the placement: its circuits are unknown this second.
        let circuits = placement.try_lock().ok().and_then(|p| p.open_circuits());
        on_event(Event::Second(Box::new(Progress {
            elapsed: start.elapsed(),
            second: live.take_second(),
            circuits,
        })));
    }
}

/// Accepted jobs not `done` once the queue has had [`JOB_DRAIN`] to finish them.
async fn unfinished_jobs(client: &reqwest::Client, base_url: &str, accepted: &[String]) -> u64 {
    let deadline = Instant::now() + JOB_DRAIN;
    let mut pending: Vec<&String> = accepted.iter().collect();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in pending {
            let status = client
                .get(format!("{base_url}/v1/sentiment/jobs/{id}"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            let done = match status {
                Some(response) => response
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|job| job["status"] == "done"),
                None => false,
            };
            if !done {
                still.push(id);
            }
        }
        pending = still;
        if !pending.is_empty() {
            // Jobs finish on the service's own schedule: poll again shortly.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    pending.len() as u64
}
