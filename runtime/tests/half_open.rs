//! A half-open circuit can never wedge: cancelled trials give their place back, results are
//! matched by ticket (round), and every permit path — success, failure, ignored, cancelled at any
//! await point — leaves the breaker and its published gate in agreement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, State, WindowKind};
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
use bulwark_runtime::policy::{Policy, ProbePolicy};
use bulwark_runtime::retry::{ExponentialBackoff, RetryPolicy};
use bulwark_runtime::runtime::Runtime;
use bulwark_runtime::timeout::TimeoutPolicy;
use proptest::prelude::*;
use support::{Scripted, Shared, ctx, no_retry_policy, runtime_with, trip};

fn without_probes(policy: Policy) -> Policy {
    Policy {
        probe: ProbePolicy {
            enabled: false,
            ..ProbePolicy::default()
        },
        ..policy
    }
}

/// Trips the breaker, lets the reset timeout pass and waits until it is half-open.
async fn half_open(dep: &bulwark_runtime::dependency::DependencyHandle<Shared>) {
    trip(dep).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;
}

#[tokio::test(start_paused = true)]
async fn a_trial_cancelled_by_the_callers_timeout_gives_its_place_back() {
    // The case: 2 permits, one trial cancelled by a 100 ms caller timeout, a healthy
    // dependency. Before the fix the circuit stayed half-open for good.
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), without_probes(no_retry_policy())).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    half_open(&dep).await;
    script.fail_next.store(0, Ordering::SeqCst);
    script.latency_ms.store(10_000, Ordering::SeqCst);
    let cancelled = tokio::time::timeout(Duration::from_millis(100), dep.call(1, ctx())).await;
    assert!(cancelled.is_err(), "the caller gave up");
    script.latency_ms.store(0, Ordering::SeqCst);
    let snap = dep.snapshot();
    assert_eq!(
        snap.trial_permits_free, 2,
        "the cancelled trial's place is free again"
    );
    dep.call(1, ctx()).await.unwrap();
    dep.call(2, ctx()).await.unwrap();
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    dep.check_invariants().unwrap();
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_every_trial_cancelled_probes_still_close_it() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    half_open(&dep).await;
    script.fail_next.store(0, Ordering::SeqCst);
    script.healthy.store(true, Ordering::SeqCst);
    script.latency_ms.store(10_000, Ordering::SeqCst);
    for _ in 0..2 {
        let _ = tokio::time::timeout(Duration::from_millis(100), dep.call(1, ctx())).await;
    }
    // No more traffic: the actor's probes take the free places and close the circuit.
    tokio::time::advance(Duration::from_secs(5)).await;
    dep.wait_for_state(State::Closed).await;
    assert!(script.probes.load(Ordering::SeqCst) >= 2);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_trial_of_an_earlier_round_cannot_decide_the_next_one() {
    let policy = Policy {
        timeout: TimeoutPolicy::new(
            Duration::from_secs(60),
            Duration::from_secs(2),
            Duration::from_secs(60),
        )
        .unwrap()
        .with_total(Duration::from_secs(120))
        .unwrap(),
        ..without_probes(no_retry_policy())
    };
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), policy).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    half_open(&dep).await;
    // Round 1: trial A is slow (40 s) and will succeed; trial B fails at once and reopens it.
    script.fail_next.store(0, Ordering::SeqCst);
    script.latency_ms.store(40_000, Ordering::SeqCst);
    let slow = tokio::spawn({
        let dep = dep.clone();
        async move { dep.call(1, ctx()).await }
    });
    tokio::task::yield_now().await;
    script.latency_ms.store(0, Ordering::SeqCst);
    script.fail_next.store(1, Ordering::SeqCst);
    assert!(dep.call(2, ctx()).await.is_err());
    assert_eq!(dep.flush().await.unwrap(), State::Open);
    // Round 2 starts at +30 s; trial C hangs until +50 s.
    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;
    script.latency_ms.store(20_000, Ordering::SeqCst);
    let hanging = tokio::spawn({
        let dep = dep.clone();
        async move { dep.call(3, ctx()).await }
    });
    tokio::task::yield_now().await;
    // A finishes (at +40 s) during round 2: it must not count as C's result.
    tokio::time::advance(Duration::from_secs(11)).await;
    slow.await.unwrap().unwrap();
    assert_eq!(dep.flush().await.unwrap(), State::HalfOpen);
    let snap = dep.snapshot();
    assert_eq!(snap.breaker.calls, 0, "no trial of round 2 has reported");
    assert_eq!(
        snap.trial_permits_free, 1,
        "C holds one place, A's result freed none"
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    hanging.await.unwrap().unwrap();
    script.latency_ms.store(0, Ordering::SeqCst);
    dep.call(4, ctx()).await.unwrap();
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn max_wait_in_half_open_reopens_through_the_actors_timer() {
    let policy = Policy {
        breaker: support::breaker()
            .to_builder()
            .max_wait_in_half_open(Duration::from_secs(5))
            .build()
            .unwrap(),
        ..without_probes(no_retry_policy())
    };
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), policy).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    half_open(&dep).await;
    // Nobody calls: after 5 s without a verdict the circuit opens again.
    tokio::time::advance(Duration::from_secs(5)).await;
    dep.wait_for_state(State::Open).await;
    assert_eq!(dep.snapshot().breaker.consecutive_opens, 2);
    rt.shutdown().await;
}

/// A dependency whose every request says how long to take and how to end.
#[derive(Debug, Clone, Copy)]
struct Coded;

#[derive(Debug, thiserror::Error)]
#[error("coded failure")]
struct CodedFailure;

impl Dependency for Coded {
    type Request = (u64, u8);
    type Response = ();
    async fn call(
        &self,
        (millis, end): (u64, u8),
        _ctx: &CallContext,
    ) -> Result<(), DependencyError> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        match end % 4 {
            0 => Ok(()),
            1 => Err(DependencyError::transient(CodedFailure)),
            2 => Err(DependencyError::permanent(CodedFailure)),
            _ => Err(DependencyError::rejected_request(CodedFailure)),
        }
    }
}

fn small_policy() -> Policy {
    Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 4 })
            .minimum_calls(2)
            .reset_timeout(Duration::from_millis(300))
            .half_open_permits(2)
            .build()
            .unwrap(),
        bulkhead: BulkheadConfig::builder()
            .non_critical(ClassLimits {
                max_concurrent: 2,
                max_queue: 3,
            })
            .max_wait(Duration::from_millis(400))
            .build()
            .unwrap(),
        retry: RetryPolicy::builder()
            .max_retries(2)
            .backoff(
                ExponentialBackoff::new(
                    Duration::from_millis(20),
                    2.0,
                    Duration::from_millis(100),
                    Duration::from_millis(10),
                )
                .unwrap(),
            )
            .build()
            .unwrap(),
        timeout: TimeoutPolicy::with_attempt(Duration::from_millis(250)).unwrap(),
        ..Policy::default()
    }
}

/// One wave of concurrent calls: (latency, ending, caller's patience, start offset).
type Wave = Vec<(u64, u8, u64, u64)>;

async fn run_waves(waves: Vec<Wave>) -> Result<(), TestCaseError> {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("coded", Coded, small_policy())
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Coded>("coded").unwrap();
    for wave in waves {
        let calls = wave.into_iter().map(|(millis, end, patience, offset)| {
            let dep = dep.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(offset)).await;
                // The caller's own timeout drops the call at whatever await point it is in:
                // the bulkhead queue, the attempt, or a retry's backoff.
                let _ = tokio::time::timeout(
                    Duration::from_millis(patience),
                    dep.call((millis, end), CallContext::untracked()),
                )
                .await;
            }
        });
        futures::future::join_all(calls).await;
        dep.flush().await.unwrap();
        if let Err(e) = dep.check_invariants() {
            prop_assert!(false, "{e}");
        }
        let snap = dep.snapshot();
        if snap.breaker.state == State::HalfOpen {
            // Nothing is in flight now: every trial place is free or counted by the breaker.
            prop_assert_eq!(
                snap.trial_permits_free,
                u64::from(snap.breaker.half_open_permits_left),
                "a trial permit leaked"
            );
        }
        prop_assert_eq!(snap.bulkhead.non_critical.in_flight, 0);
        prop_assert_eq!(snap.bulkhead.non_critical.queued, 0);
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    rt.shutdown().await;
    Ok(())
}

fn wave() -> impl Strategy<Value = Wave> {
    proptest::collection::vec((0u64..400, any::<u8>(), 1u64..600, 0u64..200), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Futures dropped at random points never leak a trial permit, a bulkhead slot or a queue
    /// place, and the breaker's invariants hold after every wave.
    #[test]
    fn dropped_futures_leave_every_invariant_holding(waves in proptest::collection::vec(wave(), 1..6)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run_waves(waves))?;
    }
}
