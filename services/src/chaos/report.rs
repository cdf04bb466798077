//! [`ChaosReport`]: what a chaos run measured, and whether the scenario's SLOs held.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::record::{Tally, share};
use super::scenario::Scenario;

/// The report of one chaos run (the JSON field names are part of the contract).
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    /// The scenario's name.
    pub scenario: String,
    /// Requests started.
    pub requests: u64,
    /// Share answered (any status) within the deadline.
    pub answered_within_deadline: f64,
    /// Share answered 2xx, fallbacks included.
    pub availability: f64,
    /// Share of 2xx answers that a fallback produced.
    pub fallback_share: f64,
    /// Share of requests per error code (non-2xx answers and client-side failures).
    pub error_share_by_code: BTreeMap<String, f64>,
    /// Latency percentiles of answered requests, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Closed → open transitions of the watched breakers.
    pub breaker_trips: u64,
    /// Fault start → breaker open, the longest over the faults (ms); `None` when no fault was
    /// watched or none opened a breaker.
    pub time_to_detect_ms: Option<u64>,
    /// Fault end → breaker closed and the primary serving, the longest over the faults (ms).
    pub time_to_recover_ms: Option<u64>,
    /// Actor restarts during the run.
    pub restarts: u64,
    /// Durable jobs the service accepted.
    pub jobs_accepted: u64,
    /// Accepted jobs that never finished, or finished more than once.
    pub jobs_lost: u64,
    /// 2xx answers per second.
    pub goodput_rps: f64,
    /// 99th percentile latency of the fast refusals (429 and 503), in milliseconds; `None` when
    /// nothing was refused.
    pub refusal_p99_ms: Option<f64>,
    /// Whether every SLO held.
    pub slo_passed: bool,
    /// The SLOs that did not hold, as sentences.
    pub slo_failures: Vec<String>,
}

/// What the runner measured besides the traffic.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Closed → open transitions of the watched breakers.
    pub breaker_trips: u64,
    /// See [`ChaosReport::time_to_detect_ms`].
    pub time_to_detect_ms: Option<u64>,
    /// See [`ChaosReport::time_to_recover_ms`].
    pub time_to_recover_ms: Option<u64>,
    /// Actor restarts during the run.
    pub restarts: u64,
    /// Durable jobs accepted.
    pub jobs_accepted: u64,
    /// Jobs lost or done twice.
    pub jobs_lost: u64,
    /// Watched breakers that never opened although their fault ran (detection missing).
    pub undetected_faults: Vec<String>,
    /// Watched breakers still not closed when the traffic stopped (recovery missing).
    pub unrecovered_faults: Vec<String>,
}

impl ChaosReport {
    /// Builds the report and checks the SLOs.
    pub fn new(scenario: &Scenario, tally: &Tally, observed: &Observed) -> Self {
        let requests = tally.requests;
        let seconds = scenario.duration.as_secs_f64().max(f64::EPSILON);
        let mut report = Self {
            scenario: scenario.name.clone(),
            requests,
            answered_within_deadline: share(tally.within_deadline, requests),
            availability: tally.availability(),
            fallback_share: if tally.answered == 0 {
                0.0
            } else {
                share(tally.degraded, tally.answered)
            },
            error_share_by_code: tally
                .errors
                .iter()
                .map(|(code, n)| (code.clone(), share(*n, requests)))
                .collect(),
            p50_ms: tally.quantile_ms(0.5),
            p99_ms: tally.quantile_ms(0.99),
            p999_ms: tally.quantile_ms(0.999),
            breaker_trips: observed.breaker_trips,
            time_to_detect_ms: observed.time_to_detect_ms,
            time_to_recover_ms: observed.time_to_recover_ms,
            restarts: observed.restarts,
            jobs_accepted: observed.jobs_accepted,
            jobs_lost: observed.jobs_lost,
            goodput_rps: tally.answered as f64 / seconds,
            refusal_p99_ms: (!tally.refusal_latency.is_empty())
                .then(|| tally.refusal_latency.value_at_quantile(0.99) as f64 / 1000.0),
            slo_passed: true,
            slo_failures: Vec::new(),
        };
        report.slo_failures = failures(scenario, &report, observed);
        report.slo_passed = report.slo_failures.is_empty();
        report
    }

    /// The report as a table for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} ms"));
        let rows: Vec<(&str, String)> = vec![
            ("scenario", self.scenario.clone()),
            ("requests", self.requests.to_string()),
            (
                "answered within deadline",
                percent(self.answered_within_deadline),
            ),
            ("availability (2xx)", percent(self.availability)),
            ("fallback share", percent(self.fallback_share)),
            (
                "latency p50 / p99 / p99.9",
                format!(
                    "{:.1} / {:.1} / {:.1} ms",
                    self.p50_ms, self.p99_ms, self.p999_ms
                ),
            ),
            ("goodput", format!("{:.1} req/s", self.goodput_rps)),
            (
                "refusals (429/503) p99",
                self.refusal_p99_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms")),
            ),
            ("breaker trips", self.breaker_trips.to_string()),
            ("time to detect", opt(self.time_to_detect_ms)),
            ("time to recover", opt(self.time_to_recover_ms)),
            ("actor restarts", self.restarts.to_string()),
            (
                "jobs accepted / lost",
                format!("{} / {}", self.jobs_accepted, self.jobs_lost),
            ),
            (
                "SLO",
                if self.slo_passed {
                    "passed".to_owned()
                } else {
                    "FAILED".to_owned()
                },
            ),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "  {name:<28} {value}");
        }
        for (code, share) in &self.error_share_by_code {
            let _ = writeln!(
                out,
                "  {:<28} {}",
                format!("errors {code}"),
                percent(*share)
            );
        }
        for failure in &self.slo_failures {
            let _ = writeln!(out, "  ✗ {failure}");
        }
        out
    }
}

fn percent(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}

fn failures(scenario: &Scenario, report: &ChaosReport, observed: &Observed) -> Vec<String> {
    let slo = &scenario.slo;
    let mut out = Vec::new();
    if let Some(min) = slo.answered_within_deadline
        && report.answered_within_deadline < min
    {
        out.push(format!(
            "answered within deadline {} < {}",
            percent(report.answered_within_deadline),
            percent(min)
        ));
    }
    if let Some(min) = slo.availability
        && report.availability < min
    {
        out.push(format!(
            "availability {} < {}",
            percent(report.availability),
            percent(min)
        ));
    }
    if let Some(max) = slo.jobs_lost
        && report.jobs_lost > max
    {
        out.push(format!("jobs lost {} > {max}", report.jobs_lost));
    }
    if let Some(max) = slo.time_to_detect_ms {
        match report.time_to_detect_ms {
            Some(t) if t > max => out.push(format!("time to detect {t} ms > {max} ms")),
            None if !observed.undetected_faults.is_empty() => out.push(format!(
                "fault never detected (breaker of {} did not open)",
                observed.undetected_faults.join(", ")
            )),
            _ => {}
        }
    }
    if let Some(max) = slo.time_to_recover_ms {
        if let Some(t) = report.time_to_recover_ms.filter(|t| *t > max) {
            out.push(format!("time to recover {t} ms > {max} ms"));
        }
        if !observed.unrecovered_faults.is_empty() {
            out.push(format!(
                "never recovered (breaker of {} still not closed at the end)",
                observed.unrecovered_faults.join(", ")
            ));
        }
    }
    if let (Some(min), Some(capacity)) = (slo.goodput_share, scenario.capacity_rps) {
        let floor = min * f64::from(capacity);
        if report.goodput_rps < floor {
            out.push(format!(
                "goodput {:.1} req/s < {floor:.1} req/s",
                report.goodput_rps
            ));
        }
    }
    if let (Some(max), Some(p99)) = (slo.rejection_p99_ms, report.refusal_p99_ms)
        && p99 > max as f64
    {
        out.push(format!("refusals p99 {p99:.1} ms > {max} ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::chaos::record::Outcome;

    #[test]
    fn slos_are_checked_and_named() {
        let scenario = Scenario::load("upstream-errors").unwrap();
        let mut tally = Tally::default();
        let deadline = scenario.deadline;
        for _ in 0..999 {
            tally.record(
                &Outcome::Answered { degraded: false },
                Duration::from_millis(5),
                deadline,
            );
        }
        tally.record(&Outcome::NoAnswer, Duration::from_secs(3), deadline);
        let observed = Observed {
            time_to_detect_ms: Some(400),
            time_to_recover_ms: Some(9_000),
            ..Observed::default()
        };
        let report = ChaosReport::new(&scenario, &tally, &observed);
        assert!(!report.slo_passed);
        assert_eq!(report.slo_failures.len(), 2, "{:?}", report.slo_failures);
        assert!(report.slo_failures[0].starts_with("answered within deadline"));
        assert!(report.slo_failures[1].starts_with("time to recover 9000 ms"));
        let json = serde_json::to_value(&report).unwrap();
        for field in [
            "scenario",
            "requests",
            "answered_within_deadline",
            "availability",
            "fallback_share",
            "error_share_by_code",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "breaker_trips",
            "time_to_detect_ms",
            "time_to_recover_ms",
            "restarts",
            "jobs_accepted",
            "jobs_lost",
            "slo_passed",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert!(report.table().contains("FAILED"));
    }
}
