//! Retries as callers see them: delays, caps, permanent errors, deadlines, the budget.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bulwark_runtime::dependency::{BreakerCommand, CallError, StopReason};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::{BudgetConfig, ExponentialBackoff, GiveUpReason, RetryPolicy};
use support::{Scripted, Shared, ctx, runtime_with};

fn policy(max_retries: u32, initial_ms: u64, max_ms: u64, budget: BudgetConfig) -> Policy {
    Policy {
        retry: RetryPolicy::builder()
            .max_retries(max_retries)
            .backoff(
                ExponentialBackoff::new(
                    Duration::from_millis(initial_ms),
                    2.0,
                    Duration::from_millis(max_ms),
                    Duration::from_millis(100),
                )
                .unwrap(),
            )
            .budget(budget)
            .build()
            .unwrap(),
        ..Policy::default()
    }
}

fn generous_budget() -> BudgetConfig {
    BudgetConfig {
        ttl: Duration::from_secs(10),
        min_retries_per_sec: 100,
        retry_ratio: 0.2,
    }
}

fn gaps(script: &Scripted) -> Vec<Duration> {
    script
        .attempt_times()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect()
}

#[tokio::test(start_paused = true)]
async fn delays_are_exponential_with_bounded_jitter() {
    let script = Arc::new(Scripted::failing(3));
    let rt = runtime_with(
        Arc::clone(&script),
        policy(3, 100, 2_000, generous_budget()),
    )
    .await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    assert_eq!(dep.call(9, ctx()).await.unwrap(), 9);
    let gaps = gaps(&script);
    assert_eq!(gaps.len(), 3);
    for (gap, base) in gaps.iter().zip([100u64, 200, 400]) {
        let base = Duration::from_millis(base);
        assert!(
            *gap >= base && *gap <= base + Duration::from_millis(100),
            "{gap:?} vs {base:?}"
        );
    }
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delays_are_capped() {
    let script = Arc::new(Scripted::failing(6));
    let rt = runtime_with(Arc::clone(&script), policy(6, 100, 300, generous_budget())).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    dep.command(BreakerCommand::Disable).await.unwrap();
    assert_eq!(dep.call(1, ctx()).await.unwrap(), 1);
    for gap in gaps(&script) {
        assert!(gap <= Duration::from_millis(400), "{gap:?}");
    }
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let script = Arc::new(Scripted::failing(5));
    script.permanent.store(true, Ordering::SeqCst);
    let rt = runtime_with(
        Arc::clone(&script),
        policy(3, 100, 2_000, generous_budget()),
    )
    .await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    match dep.call(1, ctx()).await {
        Err(CallError::Failed {
            attempts, reason, ..
        }) => {
            assert_eq!(attempts, 1);
            assert_eq!(reason, StopReason::Policy(GiveUpReason::Permanent));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(script.attempt_times().len(), 1);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn never_retries_past_the_deadline() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let rt = runtime_with(
        Arc::clone(&script),
        policy(5, 100, 2_000, generous_budget()),
    )
    .await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    let start = tokio::time::Instant::now();
    let out = dep
        .call(1, ctx().with_timeout(Duration::from_millis(250)))
        .await;
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    match out {
        Err(CallError::Failed { reason, .. }) => {
            assert_eq!(reason, StopReason::Policy(GiveUpReason::DeadlineTooClose));
        }
        other => panic!("{other:?}"),
    }
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after() {
    let script = Arc::new(Scripted::failing(1));
    script.retry_after_ms.store(1_500, Ordering::SeqCst);
    let rt = runtime_with(
        Arc::clone(&script),
        policy(3, 100, 2_000, generous_budget()),
    )
    .await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    assert_eq!(dep.call(1, ctx()).await.unwrap(), 1);
    assert!(gaps(&script)[0] >= Duration::from_millis(1_500));
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn budget_exhaustion_stops_retry_storms() {
    let script = Arc::new(Scripted::failing(u32::MAX));
    let budget = BudgetConfig {
        ttl: Duration::from_secs(10),
        min_retries_per_sec: 1,
        retry_ratio: 0.2,
    };
    let rt = runtime_with(Arc::clone(&script), policy(3, 10, 20, budget)).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    dep.command(BreakerCommand::Disable).await.unwrap();
    let mut exhausted = 0;
    for _ in 0..100 {
        if let Err(CallError::Failed {
            reason: StopReason::BudgetExhausted,
            ..
        }) = dep.call(1, ctx()).await
        {
            exhausted += 1;
        }
    }
    let retries = script.attempt_times().len() - 100;
    // 20 % of 100 requests plus a reserve of 1/s over the 10 s window, never 3 per request.
    assert!(retries <= 20 + 10 + 2, "retries {retries}");
    assert!(exhausted > 50, "exhausted {exhausted}");
    rt.shutdown().await;
}
