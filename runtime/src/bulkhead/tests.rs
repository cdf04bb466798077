//! Bulkhead tests on paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn config(critical: (u32, u32), non_critical: (u32, u32)) -> BulkheadConfig {
    BulkheadConfig::builder()
        .critical(ClassLimits {
            max_concurrent: critical.0,
            max_queue: critical.1,
        })
        .non_critical(ClassLimits {
            max_concurrent: non_critical.0,
            max_queue: non_critical.1,
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn concurrency_never_exceeds_the_limit() {
    let bulkhead = Arc::new(Bulkhead::new(&config((1, 1), (4, 100))));
    let current = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (b, current, peak) = (
                Arc::clone(&bulkhead),
                Arc::clone(&current),
                Arc::clone(&peak),
            );
            tokio::spawn(async move {
                let _permit = b.acquire(Priority::NonCritical, None).await.unwrap();
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10 + i % 7)).await;
                current.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(peak.load(Ordering::SeqCst), 4);
    assert_eq!(bulkhead.in_flight(Priority::NonCritical), 0);
    assert_eq!(bulkhead.queued(Priority::NonCritical), 0);
}

#[tokio::test(start_paused = true)]
async fn full_queue_rejects_at_once() {
    let bulkhead = Bulkhead::new(&config((1, 1), (1, 0)));
    let _held = bulkhead.try_acquire(Priority::NonCritical).unwrap();
    let start = Instant::now();
    let err = bulkhead
        .acquire(Priority::NonCritical, None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BulkheadRejected::QueueFull {
            priority: Priority::NonCritical
        }
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(bulkhead.snapshot().non_critical.rejected_total, 1);
}

#[tokio::test(start_paused = true)]
async fn waiter_gets_the_released_slot() {
    let bulkhead = Arc::new(Bulkhead::new(&config((1, 1), (1, 1))));
    let held = bulkhead.try_acquire(Priority::Critical).unwrap();
    let b = Arc::clone(&bulkhead);
    let waiter = tokio::spawn(async move {
        b.acquire(Priority::Critical, None)
            .await
            .map(|p| p.priority())
    });
    while bulkhead.queued(Priority::Critical) == 0 {
        tokio::task::yield_now().await;
    }
    drop(held);
    assert_eq!(waiter.await.unwrap(), Ok(Priority::Critical));
    assert_eq!(bulkhead.in_flight(Priority::Critical), 0);
}

#[tokio::test(start_paused = true)]
async fn waiter_times_out_at_its_deadline() {
    let bulkhead = Bulkhead::new(&config((1, 1), (1, 1)));
    let _held = bulkhead.try_acquire(Priority::Critical).unwrap();
    let start = Instant::now();
    let err = bulkhead
        .acquire(Priority::Critical, Some(start + Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BulkheadRejected::Timeout {
            priority: Priority::Critical
        }
    );
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    assert_eq!(bulkhead.queued(Priority::Critical), 0);
}

#[tokio::test(start_paused = true)]
async fn non_critical_flood_leaves_critical_untouched() {
    let bulkhead = Arc::new(Bulkhead::new(&config((2, 0), (8, 8))));
    let flood: Vec<_> = (0..1000)
        .map(|_| {
            let b = Arc::clone(&bulkhead);
            tokio::spawn(async move {
                match b.acquire(Priority::NonCritical, None).await {
                    Ok(_permit) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        true
                    }
                    Err(_) => false,
                }
            })
        })
        .collect();
    while bulkhead.in_flight(Priority::NonCritical) < 8 {
        tokio::task::yield_now().await;
    }
    let a = bulkhead.try_acquire(Priority::Critical);
    let b = bulkhead.try_acquire(Priority::Critical);
    assert!(
        a.is_some() && b.is_some(),
        "critical capacity intact under the flood"
    );
    drop((a, b));
    let mut admitted = 0;
    for f in flood {
        admitted += usize::from(f.await.unwrap());
    }
    assert_eq!(admitted, 16, "8 running + 8 queued");
}

#[tokio::test(start_paused = true)]
async fn resize_up_wakes_waiters_and_down_lets_calls_finish() {
    let bulkhead = Arc::new(Bulkhead::new(&config((1, 4), (1, 1))));
    let held = bulkhead.try_acquire(Priority::Critical).unwrap();
    let b = Arc::clone(&bulkhead);
    let waiter = tokio::spawn(async move { b.acquire(Priority::Critical, None).await.is_ok() });
    while bulkhead.queued(Priority::Critical) == 0 {
        tokio::task::yield_now().await;
    }
    bulkhead.resize(&config((2, 4), (1, 1)));
    assert!(waiter.await.unwrap());
    bulkhead.resize(&config((1, 4), (1, 1)));
    assert_eq!(
        bulkhead.in_flight(Priority::Critical),
        1,
        "the held slot stays"
    );
    assert!(bulkhead.try_acquire(Priority::Critical).is_none());
    drop(held);
    assert!(bulkhead.try_acquire(Priority::Critical).is_some());
}

#[test]
fn invalid_and_toml_configs() {
    assert!(
        BulkheadConfig::builder()
            .critical(ClassLimits {
                max_concurrent: 0,
                max_queue: 1
            })
            .build()
            .is_err()
    );
    let c: BulkheadConfig =
        toml::from_str("[critical]\nmax_concurrent = 3\nmax_queue = 0\n").unwrap();
    assert_eq!(c.limits(Priority::Critical).max_concurrent, 3);
    assert_eq!(
        c.limits(Priority::NonCritical),
        BulkheadConfig::default().limits(Priority::NonCritical)
    );
    assert!(
        toml::from_str::<BulkheadConfig>("[critical]\nmax_concurrent = 0\nmax_queue = 0\n")
            .is_err()
    );
}

#[test]
fn stress_counts_never_leak() {
    let bulkhead = Arc::new(Bulkhead::new(&config((3, 0), (3, 0))));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let b = Arc::clone(&bulkhead);
            std::thread::spawn(move || {
                let p = if t % 2 == 0 {
                    Priority::Critical
                } else {
                    Priority::NonCritical
                };
                for _ in 0..20_000 {
                    if let Some(permit) = b.try_acquire(p) {
                        assert!(b.in_flight(p) <= 3);
                        drop(permit);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(bulkhead.in_flight(Priority::Critical), 0);
    assert_eq!(bulkhead.in_flight(Priority::NonCritical), 0);
}
