//! Keyed dependencies: created on demand, isolated per key, evicted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::clock::Clock;
use bulwark_runtime::runtime::Runtime;
use support::{Scripted, Shared, ctx, no_retry_policy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keys_created_isolated_and_evicted() {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let keyed = rt
        .keyed(
            "tenant",
            |key: &str| {
                let fail = if key == "t13" { u32::MAX } else { 0 };
                Shared(Arc::new(Scripted::failing(fail)))
            },
            no_retry_policy(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    for i in 0..10_000u64 {
        let out = keyed.call(&format!("t{i}"), i, ctx()).await;
        if i != 13 {
            assert_eq!(out.unwrap(), i);
        }
    }
    assert_eq!(keyed.len(), 10_000);
    assert_eq!(keyed.live_actors().await, 10_000);

    // One tenant's failures open only its own breaker.
    let bad = keyed.get("t13").await.unwrap();
    for _ in 0..10 {
        let _ = bad.call(1, ctx()).await;
    }
    assert_eq!(bad.flush().await.unwrap(), State::Open);
    assert_eq!(keyed.get("t14").await.unwrap().state(), State::Closed);

    assert!(!keyed.evict("t13"), "a kept handle pins its key");
    drop(bad);
    for i in 0..10_000u64 {
        assert!(keyed.evict(&format!("t{i}")), "t{i}");
    }
    assert_eq!(keyed.len(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while keyed.live_actors().await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "actors not stopped");
        tokio::task::yield_now().await;
    }
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn idle_keys_are_evicted_on_the_runtime_clock() {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let keyed = rt
        .keyed(
            "idle",
            |_key: &str| Shared(Arc::new(Scripted::default())),
            no_retry_policy(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    keyed.call("a", 1, ctx()).await.unwrap();
    keyed.call("b", 1, ctx()).await.unwrap();
    tokio::time::advance(Duration::from_secs(45)).await;
    keyed.call("b", 2, ctx()).await.unwrap();
    tokio::time::advance(Duration::from_secs(20)).await;
    keyed.run_pending_evictions();
    // "a" has been idle 65 s, "b" 20 s.
    assert_eq!(keyed.len(), 1);
    while keyed.live_actors().await > 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        keyed.get("b").await.unwrap().call(3, ctx()).await.unwrap(),
        3
    );
    rt.shutdown().await;
}
