//! `bulwark chaos`: one chaos experiment, its progress once per second and its report (a table,
//! or JSON with `--json`); the exit status says whether the scenario's SLOs held.

use std::io::Write;

use bulwark_runtime::telemetry::{self, LogFormat};

use super::CommandError;
use crate::chaos::scenario::Scenario;
use crate::chaos::{self, ChaosReport, Event, RunOptions};
use crate::cli::{ChaosArgs, GlobalArgs};

/// Log lines of the service under test that reach the terminal (`RUST_LOG` overrides): only
/// errors, so the progress lines stay readable, and not the panics the run injects itself
/// (the report counts the restarts they cause).
pub(super) const LOG_FILTER: &str = "error,bulwark_runtime::telemetry::panic=off";

/// Runs the scenario and prints its report.
pub async fn run(global: &GlobalArgs, args: &ChaosArgs) -> Result<(), CommandError> {
    telemetry::init(LogFormat::Text, LOG_FILTER)?;
    let mut scenario = Scenario::load(&args.scenario)?;
    if let Some(duration) = args.duration {
        scenario = scenario.shortened(duration);
    }
    if let Some(rps) = args.rps {
        scenario.rps = rps;
    }
    let options = RunOptions {
        data_dir: global.data_dir.clone(),
        ..RunOptions::default()
    };
    let options = match args.addr {
        Some(addr) => RunOptions { addr, ..options },
        None => options,
    };
    let json = args.json;
    eprintln!(
        "chaos: {} — {} ({} s at {} req/s)",
        scenario.name,
        scenario.description,
        scenario.duration.as_secs(),
        scenario.rps
    );
    let report = chaos::run(&scenario, options, move |event| {
        print_event(&event, json);
    })
    .await?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(CommandError::Report)?;
        println!("{text}");
    } else {
        println!("\n{}", report.table());
    }
    verdict(&report)
}

/// Prints a run's event: to stdout, or to stderr when stdout carries the JSON report.
pub(super) fn print_event(event: &Event, to_stderr: bool) {
    let line = match event {
        Event::Started {
            base_url,
            config_path,
        } => format!(
            "service on {base_url} (config: {}); traffic starts",
            config_path.display()
        ),
        Event::Second(progress) => progress.line(),
        Event::Fault(fault) => format!("[{:>3}s] ⚡ {}", fault.at.as_secs(), fault.what),
        Event::Draining => "traffic stopped; checking accepted jobs".to_owned(),
    };
    if to_stderr {
        eprintln!("{line}");
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Ok when every SLO held.
pub(super) fn verdict(report: &ChaosReport) -> Result<(), CommandError> {
    if report.slo_passed {
        Ok(())
    } else {
        Err(CommandError::SloFailed {
            scenario: report.scenario.clone(),
            failures: report.slo_failures.join("; "),
        })
    }
}
