//! The chaos runner end to end, in process: simulated upstreams on loopback, the real service on
//! a loopback port, open-loop traffic, a fault on a schedule, and the report it makes of them.
//! (`scripts/test.sh` runs every built-in scenario through the `bulwark chaos` binary; this test
//! checks the runner's own bookkeeping on a short scenario.)

use std::sync::{Arc, Mutex};

use bulwark_services::chaos::scenario::Scenario;
use bulwark_services::chaos::{Event, RunOptions, run};

const SCENARIO: &str = r#"
name = "short-upstream-errors"
duration = "6s"
rps = 50
deadline = "2s"

[[traffic]]
route = "/v1/sentiment"
weight = 1
vary = 50
body = { text = "The parcel {n} arrived late but the support team was lovely." }

[[faults]]
at = "1s"
until = "3s"
target = "sentiment-a"
kind = "upstream"
upstream = { error_rate = 1.0, error_status = 500 }

[slo]
time_to_detect_ms = 1000
time_to_recover_ms = 5000
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_is_detected_ridden_out_and_recovered_from() {
    bulwark_runtime::http::install_default_tls();
    let scenario = Scenario::from_toml(SCENARIO).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let report = run(&scenario, RunOptions::default(), move |event| {
        seen.lock().unwrap().push(event);
    })
    .await
    .unwrap();

    assert!(report.slo_passed, "{}", report.table());
    // Open loop: one request per 20 ms for 6 s, whatever the service did.
    assert!(
        (290..=300).contains(&report.requests),
        "{}",
        report.requests
    );
    assert_eq!(
        report.availability, 1.0,
        "tier 1 and the fallback cover the outage"
    );
    assert_eq!(report.answered_within_deadline, 1.0);
    assert!(report.breaker_trips >= 1);
    let detect = report.time_to_detect_ms.expect("the breaker opened");
    assert!(detect <= 1000, "{detect} ms");
    assert!(report.time_to_recover_ms.is_some(), "the breaker closed");
    assert!(report.error_share_by_code.is_empty());

    let events = events.lock().unwrap();
    assert!(matches!(events.first(), Some(Event::Started { .. })));
    let seconds: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Second(p) => Some(p),
            _ => None,
        })
        .collect();
    assert!(seconds.len() >= 5, "a progress line per second");
    assert!(
        seconds
            .iter()
            .any(|p| p.circuits.as_ref().is_some_and(|open| open
                .iter()
                .any(|(name, _)| name == "sentiment.model/sentiment-a"))),
        "a progress line shows the open circuit"
    );
    let faults = events
        .iter()
        .filter(|e| matches!(e, Event::Fault(_)))
        .count();
    assert_eq!(faults, 2, "the fault's start and its end");
}

#[tokio::test]
async fn a_scenario_file_with_a_mistake_is_refused_with_its_reason() {
    let err = Scenario::from_toml(&SCENARIO.replace("rps = 50", "rps = 0")).unwrap_err();
    assert!(err.to_string().contains("rps"), "{err}");
    let unknown = Scenario::load("no-such-scenario").unwrap_err();
    assert!(unknown.to_string().contains("crash-restart"), "{unknown}");
}
