//! `bulwark demo`: the service with simulated upstreams, steady traffic and a chaos schedule (a
//! provider outage, a hanging endpoint, a latency spike, a panic storm), one line per second,
//! the dashboard live at the printed URL, and the report at the end.

use bulwark_runtime::telemetry::{self, LogFormat};

use super::CommandError;
use super::chaos::{LOG_FILTER, print_event, verdict};
use crate::chaos::scenario::{DEMO, Scenario};
use crate::chaos::{self, Event, RunOptions};
use crate::cli::{DemoArgs, GlobalArgs};

/// Runs the demo.
pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<(), CommandError> {
    telemetry::init(LogFormat::Text, LOG_FILTER)?;
    let mut scenario = Scenario::from_toml(DEMO)?.shortened(args.duration);
    scenario.duration = args.duration;
    if let Some(rps) = args.rps {
        scenario.rps = rps;
    }
    let options = RunOptions {
        addr: args.addr,
        data_dir: global.data_dir.clone(),
        binary: None,
    };
    println!(
        "Bulwark demo: {} s of traffic ({} req/s) through sentiment, responses, embeddings and \
         jobs, while upstreams fail on a schedule.",
        scenario.duration.as_secs(),
        scenario.rps
    );
    let report = chaos::run(&scenario, options, |event| {
        if let Event::Started { base_url, .. } = &event {
            println!(
                "Dashboard: {base_url}/   (status: {base_url}/status, metrics: {base_url}/metrics)"
            );
        }
        print_event(&event, false);
    })
    .await?;
    println!("\n{}", report.table());
    verdict(&report)
}
