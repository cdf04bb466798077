//! `bulwark_calls_total{dependency,outcome}` counts every finished call exactly once, whatever
//! path it took: fast or slow success, half-open trial, retry, failure, timeout, panic, open
//! circuit, full bulkhead, rejected request, refused credentials, cancellation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{
    BreakerCommand, CALL_OUTCOMES, CallContext, Dependency, DependencyError, metric_names,
};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::{ExponentialBackoff, RetryPolicy};
use bulwark_runtime::runtime::Runtime;
use bulwark_runtime::timeout::TimeoutPolicy;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use proptest::prelude::*;

/// What one call does.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Fast,
    Slow,
    Transient,
    Permanent,
    Rejected,
    Unauthorized,
    Hang,
    Panic,
    Cancel,
    ForcedOpen,
    BulkheadFull,
    Wait,
}

#[derive(Debug, Clone, Copy)]
struct Mixed;

#[derive(Debug, thiserror::Error)]
#[error("mixed failure")]
struct MixedFailure;

impl Dependency for Mixed {
    type Request = u8;
    type Response = ();
    async fn call(&self, kind: u8, _ctx: &CallContext) -> Result<(), DependencyError> {
        match kind {
            0 => Ok(()),
            1 => {
                tokio::time::sleep(Duration::from_millis(150)).await;
                Ok(())
            }
            2 => Err(DependencyError::transient(MixedFailure)),
            3 => Err(DependencyError::permanent(MixedFailure)),
            4 => Err(DependencyError::rejected_request(MixedFailure)),
            5 => Err(DependencyError::unauthorized(MixedFailure)),
            7 => panic!("mixed panic"),
            _ => std::future::pending().await,
        }
    }
}

fn policy() -> Policy {
    Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 4 })
            .minimum_calls(2)
            .slow_call_duration(Duration::from_millis(100))
            .reset_timeout(Duration::from_millis(300))
            .half_open_permits(2)
            .build()
            .unwrap(),
        bulkhead: BulkheadConfig::builder()
            .critical(ClassLimits {
                max_concurrent: 1,
                max_queue: 0,
            })
            .build()
            .unwrap(),
        retry: RetryPolicy::builder()
            .max_retries(1)
            .backoff(
                ExponentialBackoff::new(
                    Duration::from_millis(5),
                    2.0,
                    Duration::from_millis(10),
                    Duration::ZERO,
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        timeout: TimeoutPolicy::with_attempt(Duration::from_millis(200))
            .unwrap()
            .with_total(Duration::from_secs(1))
            .unwrap(),
        ..Policy::default()
    }
}

/// Makes the calls and returns how many ended in each outcome, as the callers saw them.
async fn run(kinds: &[Kind]) -> BTreeMap<&'static str, u64> {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("mixed", Mixed, policy())
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Mixed>("mixed").unwrap();
    let mut seen: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut panics = 0;
    let mut count = |label: &'static str| *seen.entry(label).or_default() += 1;
    let critical =
        || CallContext::untracked().with_priority(bulwark_runtime::bulkhead::Priority::Critical);
    for kind in kinds {
        let code = match kind {
            Kind::Fast => 0,
            Kind::Slow => 1,
            Kind::Transient => 2,
            Kind::Permanent => 3,
            Kind::Rejected => 4,
            Kind::Unauthorized => 5,
            Kind::Hang | Kind::Cancel | Kind::BulkheadFull => 6,
            Kind::Panic => 7,
            Kind::ForcedOpen => 0,
            Kind::Wait => {
                tokio::time::sleep(Duration::from_millis(400)).await;
                continue;
            }
        };
        match kind {
            Kind::Cancel => {
                let cut =
                    tokio::time::timeout(Duration::from_millis(50), dep.call(code, critical()));
                match cut.await {
                    Err(_) => count("cancelled"),
                    Ok(result) => count(result.map_or_else(|e| e.outcome_label(), |()| "success")),
                }
            }
            Kind::ForcedOpen => {
                dep.command(BreakerCommand::ForceOpen).await.unwrap();
                let result = dep.call(code, critical()).await;
                count(result.map_or_else(|e| e.outcome_label(), |()| "success"));
                dep.command(BreakerCommand::Reset).await.unwrap();
            }
            Kind::BulkheadFull => {
                // One hanging call holds the only critical slot; the next is refused at once.
                let holder = tokio::spawn({
                    let dep = dep.clone();
                    async move { dep.call(6, critical()).await }
                });
                tokio::task::yield_now().await;
                let result = dep.call(0, critical()).await;
                count(result.map_or_else(|e| e.outcome_label(), |()| "success"));
                holder.abort();
                match holder.await {
                    Err(e) if e.is_cancelled() => count("cancelled"),
                    Err(e) => panic!("{e}"),
                    Ok(result) => count(result.map_or_else(|e| e.outcome_label(), |()| "success")),
                }
            }
            _ => {
                let result = dep.call(code, critical()).await;
                let label = result.map_or_else(|e| e.outcome_label(), |()| "success");
                count(label);
                if label == "panic" {
                    // The actor is restarted (with backoff); wait for it before the next command.
                    panics += 1;
                    dep.wait_for_restarts(panics).await;
                }
            }
        }
    }
    dep.flush().await.unwrap();
    rt.shutdown().await;
    seen
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => Just(Kind::Fast),
        2 => Just(Kind::Slow),
        3 => Just(Kind::Transient),
        1 => Just(Kind::Permanent),
        1 => Just(Kind::Rejected),
        1 => Just(Kind::Unauthorized),
        1 => Just(Kind::Hang),
        1 => Just(Kind::Panic),
        1 => Just(Kind::Cancel),
        1 => Just(Kind::ForcedOpen),
        1 => Just(Kind::BulkheadFull),
        2 => Just(Kind::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_call_is_counted_once_under_its_outcome(kinds in proptest::collection::vec(kind(), 1..40)) {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        // Every handle the runtime registers, and every macro it calls, lands in this recorder:
        // the whole run happens on this thread, inside the closure.
        let seen = metrics::with_local_recorder(&recorder, || runtime.block_on(run(&kinds)));
        let mut counted: BTreeMap<String, u64> = BTreeMap::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            if key.key().name() != metric_names::CALLS_TOTAL {
                continue;
            }
            let outcome = key.key().labels().find(|l| l.key() == "outcome").unwrap().value().to_owned();
            if let DebugValue::Counter(n) = value {
                *counted.entry(outcome).or_default() += n;
            }
        }
        let made: u64 = seen.values().sum();
        let total: u64 = counted.values().sum();
        prop_assert_eq!(total, made, "seen {:?}, counted {:?}", seen, counted);
        for outcome in CALL_OUTCOMES {
            let expected = seen.get(outcome).copied().unwrap_or(0);
            let got = counted.get(outcome).copied().unwrap_or(0);
            prop_assert_eq!(got, expected, "outcome {}: seen {:?}, counted {:?}", outcome, seen, counted);
        }
    }
}
