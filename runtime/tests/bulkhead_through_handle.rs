//! The bulkhead as callers see it: bounded concurrency, bounded queue, separate classes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits};
use bulwark_runtime::dependency::CallError;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use support::{Scripted, Shared, ctx, runtime_with};

#[tokio::test(start_paused = true)]
async fn non_critical_flood_cannot_take_critical_capacity() {
    let script = Arc::new(Scripted::default());
    script.latency_ms.store(1_000, Ordering::SeqCst);
    let policy = Policy {
        bulkhead: BulkheadConfig::builder()
            .critical(ClassLimits {
                max_concurrent: 2,
                max_queue: 0,
            })
            .non_critical(ClassLimits {
                max_concurrent: 2,
                max_queue: 2,
            })
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    let rt = runtime_with(Arc::clone(&script), policy).await;
    let dep = rt.handle::<Shared>("dep").unwrap();

    let flood: Vec<_> = (0..50)
        .map(|i| {
            let dep = dep.clone();
            tokio::spawn(async move {
                dep.call(i, ctx().with_priority(Priority::NonCritical))
                    .await
            })
        })
        .collect();
    // Let the flood reach the bulkhead (no time passes: the calls take 1 s of virtual time).
    while dep.snapshot().bulkhead.non_critical.in_flight < 2 {
        tokio::task::yield_now().await;
    }
    let critical: Vec<_> = (0..2)
        .map(|i| {
            let dep = dep.clone();
            tokio::spawn(async move {
                dep.call(100 + i, ctx().with_priority(Priority::Critical))
                    .await
            })
        })
        .collect();
    for c in critical {
        assert!(c.await.unwrap().is_ok(), "critical calls must get through");
    }
    let mut ok = 0;
    let mut rejected = 0;
    for f in flood {
        match f.await.unwrap() {
            Ok(_) => ok += 1,
            Err(CallError::BulkheadFull { priority, .. }) => {
                assert_eq!(priority, Priority::NonCritical);
                rejected += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 4, "2 running + 2 queued");
    assert_eq!(rejected, 46);
    rt.shutdown().await;
}
