//! The breaker as callers see it through a `DependencyHandle`, on virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, State, WindowKind};
use bulwark_runtime::dependency::{BreakerCommand, CallError};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use support::{Scripted, Shared, ctx, no_retry_policy, runtime_with};

#[tokio::test(start_paused = true)]
async fn trips_at_threshold_and_not_before_minimum_calls() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();

    for _ in 0..9 {
        assert!(matches!(
            dep.call(1, ctx()).await,
            Err(CallError::Failed { .. })
        ));
    }
    // Nine failures: 100 % failure rate, but fewer than minimum_calls (10).
    assert_eq!(dep.flush().await.unwrap(), State::Closed);

    assert!(dep.call(1, ctx()).await.is_err());
    assert_eq!(dep.flush().await.unwrap(), State::Open);

    let attempts_before = script.attempt_times().len();
    match dep.call(1, ctx()).await {
        Err(CallError::CircuitOpen {
            retry_after, state, ..
        }) => {
            assert_eq!(state, State::Open);
            let ra = retry_after.unwrap();
            assert!(
                ra <= Duration::from_secs(30) && ra > Duration::from_secs(29),
                "{ra:?}"
            );
        }
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
    assert_eq!(
        script.attempt_times().len(),
        attempts_before,
        "open circuit must not call"
    );
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failure_rate_below_threshold_keeps_it_closed() {
    let script = Arc::new(Scripted::default());
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    // 4 failures in 10 calls = 40 % < 50 %.
    for i in 0..10 {
        if i % 5 < 2 {
            script.fail_next.store(1, Ordering::SeqCst);
        }
        let _ = dep.call(1, ctx()).await;
    }
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn half_open_trials_close_the_circuit() {
    let script = Arc::new(Scripted::failing(10));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    support::trip(&dep).await;

    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;

    // Two trial permits: both succeed, the circuit closes; a third concurrent call is refused.
    assert_eq!(dep.call(1, ctx()).await.unwrap(), 1);
    assert_eq!(dep.call(2, ctx()).await.unwrap(), 2);
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    assert_eq!(dep.call(3, ctx()).await.unwrap(), 3);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_trial_reopens() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    support::trip(&dep).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;
    let _ = dep.call(1, ctx()).await;
    let _ = dep.call(1, ctx()).await;
    assert_eq!(dep.flush().await.unwrap(), State::Open);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn slow_calls_trip_it() {
    let script = Arc::new(Scripted::default());
    script.latency_ms.store(3_000, Ordering::SeqCst);
    let policy = Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 20 })
            .minimum_calls(10)
            .slow_call_duration(Duration::from_secs(2))
            .slow_call_rate_threshold(80.0)
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    let rt = runtime_with(Arc::clone(&script), policy).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    for _ in 0..10 {
        assert_eq!(
            dep.call(1, ctx()).await.unwrap(),
            1,
            "slow calls still succeed"
        );
    }
    assert_eq!(dep.flush().await.unwrap(), State::Open);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn recovery_is_detected_by_probes_without_traffic() {
    let script = Arc::new(Scripted::failing(10));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    support::trip(&dep).await;
    script.healthy.store(true, Ordering::SeqCst);
    // No calls at all: the reset timer moves to half-open, probes are the trial calls.
    tokio::time::advance(Duration::from_secs(31)).await;
    dep.wait_for_state(State::Closed).await;
    assert!(script.probes.load(Ordering::SeqCst) >= 2);
    assert!(dep.snapshot().last_probe.unwrap().healthy);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn manual_commands_and_policy_update() {
    let script = Arc::new(Scripted::default());
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    assert_eq!(
        dep.command(BreakerCommand::ForceOpen).await.unwrap(),
        State::ForcedOpen
    );
    assert!(matches!(
        dep.call(1, ctx()).await,
        Err(CallError::CircuitOpen {
            state: State::ForcedOpen,
            retry_after: None,
            ..
        })
    ));
    assert_eq!(
        dep.command(BreakerCommand::Reset).await.unwrap(),
        State::Closed
    );
    assert_eq!(dep.call(1, ctx()).await.unwrap(), 1);

    // Raise the threshold at run time: 100 % failures over 10 calls no longer trip at 30 calls min.
    let mut policy = dep.policy();
    policy.breaker = BreakerConfig::builder()
        .window(WindowKind::Count { size: 50 })
        .minimum_calls(30)
        .build()
        .unwrap();
    dep.update_policy(policy.clone()).await.unwrap();
    assert_eq!(dep.policy(), policy);
    script.fail_next.store(10, Ordering::SeqCst);
    support::call_n(&dep, 10).await;
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn transitions_are_published_with_reasons() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    let mut events = dep.subscribe();
    support::call_n(&dep, 10).await;
    let event = events.recv().await.unwrap();
    assert_eq!(event.transition.from, State::Closed);
    assert_eq!(event.transition.to, State::Open);
    assert!(
        event.transition.reason.contains("50"),
        "{}",
        event.transition.reason
    );
    rt.shutdown().await;
}
