//! Turning a scenario's fault schedule into faults: simulated upstreams misbehave, dependency
//! actors panic, the auth store fails through the runtime's fault injector, the process is
//! killed and restarted — each at its time, and healed at its end.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::chaos::FaultPlan;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::lab::Lab;
use super::placement::Placement;
use super::scenario::{FaultKind, FaultStep};

/// Shortest pause between two injected actor panics.
const MIN_PANIC_EVERY: Duration = Duration::from_millis(10);

/// One fault starting or ending, for the progress output.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEvent {
    /// Seconds since the start of traffic.
    pub at: Duration,
    /// What happened, as a sentence.
    pub what: String,
}

/// Runs `faults` against `lab` and `placement` from `start`, calling `report` as each fault
/// starts and ends; answers when the last fault has ended (or at `end` for open-ended ones).
pub async fn run_schedule(
    faults: Vec<FaultStep>,
    lab: Arc<Lab>,
    placement: Arc<Mutex<Placement>>,
    client: reqwest::Client,
    start: Instant,
    end: Instant,
    report: impl Fn(FaultEvent) + Send + Sync + 'static,
) {
    let report = Arc::new(report);
    let mut tasks = tokio::task::JoinSet::new();
    for fault in faults {
        let (lab, placement, client, report) = (
            Arc::clone(&lab),
            Arc::clone(&placement),
            client.clone(),
            Arc::clone(&report),
        );
        tasks.spawn(async move {
            let from = start + fault.at;
            let until = fault.until.map_or(end, |u| (start + u).min(end));
            tokio::time::sleep_until(from).await;
            let event = |what: String| FaultEvent {
                at: Instant::now().saturating_duration_since(start),
                what,
            };
            report(event(describe(&fault, &lab)));
            apply(&fault, &lab, &placement, &client, until).await;
            tokio::time::sleep_until(until).await;
            heal(&fault, &lab, &placement).await;
            if fault.kind != FaultKind::CrashRestart {
                report(event(format!("healed: {}", fault.target)));
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Starts a fault. Actor panics go on until `until`.
async fn apply(
    fault: &FaultStep,
    lab: &Lab,
    placement: &Mutex<Placement>,
    client: &reqwest::Client,
    until: Instant,
) {
    match fault.kind {
        FaultKind::Upstream => {
            if let (Some(upstream), Some(faults)) = (lab.upstream(&fault.target), &fault.upstream) {
                // Checked when the scenario was loaded.
                let _ = upstream.faults().set(faults.clone());
            }
        }
        FaultKind::StoreOutage => {
            if let Some(control) = placement.lock().await.store_faults() {
                let _ = control.set(FaultPlan::failing(1.0));
            }
        }
        FaultKind::ActorPanic => {
            let every = fault.every.unwrap_or(Duration::from_millis(500));
            let dependency = lab.dependency_of(&fault.target);
            let controls = placement
                .lock()
                .await
                .runtime()
                .and_then(|runtime| runtime.controls(&dependency));
            let Some(controls) = controls else {
                tracing::warn!(%dependency, "actor_panic: no such dependency");
                return;
            };
            let mut tick = tokio::time::interval(every.max(MIN_PANIC_EVERY));
            while Instant::now() < until {
                tick.tick().await;
                // An actor between incarnations refuses the message; the next tick tries again.
                let _ = controls.inject_actor_panic();
            }
        }
        FaultKind::CrashRestart => {
            let mut placement = placement.lock().await;
            if let Err(error) = placement.crash_restart(client).await {
                tracing::error!(error = %bulwark_runtime::error::chain(&error), "crash_restart");
            }
        }
    }
}

/// Ends a fault.
async fn heal(fault: &FaultStep, lab: &Lab, placement: &Mutex<Placement>) {
    match fault.kind {
        FaultKind::Upstream => {
            if let Some(upstream) = lab.upstream(&fault.target) {
                upstream.faults().heal();
            }
        }
        FaultKind::StoreOutage => {
            if let Some(control) = placement.lock().await.store_faults() {
                control.heal();
            }
        }
        FaultKind::ActorPanic | FaultKind::CrashRestart => {}
    }
}

fn describe(fault: &FaultStep, lab: &Lab) -> String {
    let target = &fault.target;
    match fault.kind {
        FaultKind::Upstream => {
            let Some(f) = &fault.upstream else {
                return format!("{target}: upstream fault");
            };
            let mut parts = Vec::new();
            if f.error_rate > 0.0 {
                parts.push(format!(
                    "{:.0} % answered {}",
                    f.error_rate * 100.0,
                    f.error_status
                ));
            }
            if f.hang_rate > 0.0 {
                parts.push(format!("{:.0} % hang", f.hang_rate * 100.0));
            }
            if !f.latency.is_zero() {
                parts.push(format!(
                    "+{} ms on {:.0} %",
                    f.latency.as_millis(),
                    f.latency_rate * 100.0
                ));
            }
            if f.malformed_rate > 0.0 {
                parts.push(format!("{:.0} % malformed", f.malformed_rate * 100.0));
            }
            if f.unauthorized {
                parts.push("401 for every call".to_owned());
            }
            format!("{target}: {}", parts.join(", "))
        }
        FaultKind::ActorPanic => format!(
            "{}: actor panics every {} ms",
            lab.dependency_of(target),
            fault
                .every
                .unwrap_or(Duration::from_millis(500))
                .as_millis()
        ),
        FaultKind::StoreOutage => format!("{}: store unavailable", lab.dependency_of(target)),
        FaultKind::CrashRestart => "process SIGKILLed and restarted".to_owned(),
    }
}
