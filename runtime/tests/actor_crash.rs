//! The owning actor crashes; callers are answered, the actor restarts, the breaker remembers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::chaos::{Chaos, FaultPlan};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{CallError, DependencyHandle};
use bulwark_runtime::runtime::Runtime;
use support::{Scripted, Shared, ctx, no_retry_policy, runtime_with};

async fn wait_for_restart<D: bulwark_runtime::dependency::Dependency>(
    dep: &DependencyHandle<D>,
    n: u64,
) {
    // The supervisor restarts the actor after its backoff (virtual time runs on while we wait).
    dep.wait_for_restarts(n).await;
    assert_eq!(dep.restarts(), n);
}

#[tokio::test(start_paused = true)]
async fn actor_panic_mid_call_answers_every_caller_and_keeps_the_breaker() {
    let script = Arc::new(Scripted::default());
    script.latency_ms.store(2_000, Ordering::SeqCst);
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();

    let calls: Vec<_> = (0..5)
        .map(|i| {
            let dep = dep.clone();
            tokio::spawn(async move { dep.call(i, ctx()).await })
        })
        .collect();
    while dep.snapshot().bulkhead.non_critical.in_flight < 5 {
        tokio::task::yield_now().await;
    }
    dep.inject_actor_panic().unwrap();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), i as u64);
    }
    wait_for_restart(&dep, 1).await;
    assert_eq!(script.resets.load(Ordering::SeqCst), 1);

    // Trip the breaker, crash the actor again: the new incarnation still knows it is open.
    script.latency_ms.store(0, Ordering::SeqCst);
    script.fail_next.store(u32::MAX, Ordering::SeqCst);
    support::trip(&dep).await;
    dep.inject_actor_panic().unwrap();
    wait_for_restart(&dep, 2).await;
    assert_eq!(dep.state(), State::Open);
    assert!(matches!(
        dep.call(1, ctx()).await,
        Err(CallError::CircuitOpen { .. })
    ));
    // And its timer was re-armed: half-open after the reset timeout.
    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn panicking_dependency_code_is_answered_and_restarts_the_actor() {
    let chaos = Chaos::new(Shared(Arc::new(Scripted::default())));
    let control = chaos.control();
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("dep", chaos, no_retry_policy())
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Chaos<Shared>>("dep").unwrap();
    control
        .set(FaultPlan {
            panic_rate: 1.0,
            ..FaultPlan::default()
        })
        .unwrap();
    assert!(matches!(
        dep.call(1, ctx()).await,
        Err(CallError::Panicked { .. })
    ));
    wait_for_restart(&dep, 1).await;
    control.heal();
    assert_eq!(dep.call(2, ctx()).await.unwrap(), 2);
    assert_eq!(dep.dependency().inner().0.resets.load(Ordering::SeqCst), 1);
    rt.shutdown().await;
}
