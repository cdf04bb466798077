//! A keyed handle that is kept pins its key: the idle sweep never evicts it, so its breaker keeps
//! working; the family's size bound holds with pinned keys among 10,000.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::clock::Clock;
use bulwark_runtime::registry::KeyedOptions;
use bulwark_runtime::runtime::{Runtime, RuntimeError};
use support::{Scripted, Shared, ctx, no_retry_policy};

#[tokio::test(start_paused = true)]
async fn a_kept_handle_survives_the_idle_timeout_and_its_breaker_still_works() {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let script = Arc::new(Scripted::default());
    let for_factory = Arc::clone(&script);
    let keyed = rt
        .keyed(
            "tenants",
            move |_key: &str| Shared(Arc::clone(&for_factory)),
            no_retry_policy(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let kept = keyed.get("acme").await.unwrap();
    kept.call(1, ctx()).await.unwrap();
    // Far past the idle timeout, several sweeps later.
    tokio::time::advance(Duration::from_secs(600)).await;
    keyed.run_pending_evictions();
    assert_eq!(keyed.len(), 1, "a kept handle pins its key");
    assert_eq!(keyed.pinned(), 1);
    // Failing calls through the kept handle open its circuit exactly as for a fresh handle…
    script.fail_next.store(u32::MAX, Ordering::SeqCst);
    support::trip(&kept).await;
    assert_eq!(
        keyed.get("acme").await.unwrap().state(),
        State::Open,
        "one breaker per key"
    );
    // …and it recovers.
    script.fail_next.store(0, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(30)).await;
    kept.wait_for_state(State::HalfOpen).await;
    kept.call(2, ctx()).await.unwrap();
    kept.call(3, ctx()).await.unwrap();
    assert_eq!(kept.flush().await.unwrap(), State::Closed);
    // Once the handle is dropped, the key goes idle and is evicted.
    drop(kept);
    tokio::time::advance(Duration::from_secs(61)).await;
    keyed.run_pending_evictions();
    assert_eq!(keyed.len(), 0);
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_holds_with_ten_thousand_keys_some_of_them_pinned() {
    let rt = Runtime::builder().build().await.unwrap();
    let keyed = rt
        .keyed_with(
            "shards",
            |_key: &str| Shared(Arc::new(Scripted::default())),
            no_retry_policy(),
            KeyedOptions::new(Duration::from_secs(3600)).max_keys(1_000),
        )
        .await
        .unwrap();
    let mut pinned = Vec::new();
    for i in 0..10_000u64 {
        let key = format!("k{i}");
        let handle = keyed.get(&key).await.unwrap();
        assert_eq!(handle.call(i, ctx()).await.unwrap(), i);
        if i % 100 == 0 {
            pinned.push((key, handle));
        }
        assert!(keyed.len() <= 1_000, "{} keys at {i}", keyed.len());
    }
    assert_eq!(keyed.pinned(), 100);
    // Every pinned key is still the same live dependency: its handle works and it was never
    // replaced (its calls reached the same breaker).
    for (key, handle) in &pinned {
        handle.call(7, ctx()).await.unwrap();
        assert_eq!(handle.name(), format!("shards:{key}"));
        assert!(keyed.snapshots().iter().any(|(k, _)| k == key));
    }
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_full_of_pinned_keys_refuses_a_new_key_with_a_clear_error() {
    let rt = Runtime::builder().build().await.unwrap();
    let keyed = rt
        .keyed_with(
            "small",
            |_key: &str| Shared(Arc::new(Scripted::default())),
            no_retry_policy(),
            KeyedOptions::new(Duration::from_secs(3600)).max_keys(3),
        )
        .await
        .unwrap();
    let held: Vec<_> = futures::future::join_all(["a", "b", "c"].map(|k| keyed.get(k)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let err = keyed.get("d").await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::KeyedFamilyFull { family, max_keys: 3 } if family == "small"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "keyed dependency 'small' is full: 3 keys, all in use"
    );
    drop(held);
    keyed.get("d").await.unwrap();
    assert_eq!(
        keyed.len(),
        3,
        "the least recently used unpinned key made room"
    );
    rt.shutdown().await;
}
