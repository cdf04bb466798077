//! The bulkhead on its own: cancellation, fairness, stress and a model-based property test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::bulkhead::{
    Bulkhead, BulkheadConfig, BulkheadPermit, BulkheadRejected, ClassLimits,
};
use proptest::prelude::*;
use tokio::time::Instant;

fn limits(max_concurrent: u32, max_queue: u32) -> ClassLimits {
    ClassLimits {
        max_concurrent,
        max_queue,
    }
}

fn bulkhead(critical: ClassLimits, non_critical: ClassLimits) -> Arc<Bulkhead> {
    let config = BulkheadConfig::builder()
        .critical(critical)
        .non_critical(non_critical)
        .build()
        .unwrap();
    Arc::new(Bulkhead::new(&config))
}

async fn until(mut condition: impl FnMut() -> bool) {
    while !condition() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_gives_its_queue_place_back() {
    let b = bulkhead(limits(1, 1), limits(1, 1));
    let held = b.try_acquire(Priority::Critical).unwrap();
    // The caller gives up through its own timeout, dropping the waiting future.
    let outer = tokio::time::timeout(
        Duration::from_millis(10),
        b.acquire(Priority::Critical, None),
    )
    .await;
    assert!(outer.is_err());
    assert_eq!(b.queued(Priority::Critical), 0, "queue place leaked");
    // The queue place is usable again, and the released slot reaches the new waiter.
    let b2 = Arc::clone(&b);
    let waiter = tokio::spawn(async move { b2.acquire(Priority::Critical, None).await.is_ok() });
    until(|| b.queued(Priority::Critical) == 1).await;
    drop(held);
    assert!(waiter.await.unwrap());
    assert_eq!(b.in_flight(Priority::Critical), 0);
}

#[tokio::test(start_paused = true)]
async fn newcomers_queue_behind_waiters() {
    let b = bulkhead(limits(1, 4), limits(1, 1));
    let held = b.try_acquire(Priority::Critical).unwrap();
    let b2 = Arc::clone(&b);
    let waiter = tokio::spawn(async move {
        let permit = b2.acquire(Priority::Critical, None).await.unwrap();
        permit.priority()
    });
    until(|| b.queued(Priority::Critical) == 1).await;
    drop(held);
    // The slot is free but promised to the queued waiter: a newcomer may not take it.
    assert!(b.try_acquire(Priority::Critical).is_none());
    assert_eq!(waiter.await.unwrap(), Priority::Critical);
    assert!(b.try_acquire(Priority::Critical).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_in_the_past_refuses_a_full_class_at_once() {
    let b = bulkhead(limits(1, 1), limits(1, 1));
    let _held = b.try_acquire(Priority::NonCritical).unwrap();
    let start = Instant::now();
    let err = b
        .acquire(Priority::NonCritical, Some(start))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(start.elapsed(), Duration::ZERO);
    // A free class admits even with a past deadline: the deadline only bounds waiting.
    assert!(b.acquire(Priority::Critical, Some(start)).await.is_ok());
}

#[test]
fn rejections_name_their_class() {
    let full = BulkheadRejected::QueueFull {
        priority: Priority::Critical,
    };
    assert_eq!(full.to_string(), "bulkhead full (critical)");
    assert_eq!(full.priority(), Priority::Critical);
    let late = BulkheadRejected::Timeout {
        priority: Priority::NonCritical,
    };
    assert_eq!(late.to_string(), "bulkhead wait timed out (non_critical)");
    assert_eq!(late.priority(), Priority::NonCritical);
}

#[tokio::test(start_paused = true)]
async fn snapshot_serializes_both_classes() {
    let b = bulkhead(limits(2, 3), limits(4, 5));
    let _p = b.try_acquire(Priority::Critical).unwrap();
    let json = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(json["critical"]["in_flight"], 1);
    assert_eq!(json["critical"]["max_queue"], 3);
    assert_eq!(json["non_critical"]["max_concurrent"], 4);
    assert_eq!(json["non_critical"]["rejected_total"], 0);
}

/// Many tasks on two worker threads, a mix of deadlines and none: the limit holds, every waiter
/// without a deadline is eventually admitted (no lost wake-up), and nothing leaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_on_two_threads_neither_overshoots_nor_leaks() {
    const MAX: u32 = 3;
    let b = bulkhead(limits(MAX, 200), limits(MAX, 8));
    let current = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..400u32)
        .map(|i| {
            let (b, current, peak) = (Arc::clone(&b), Arc::clone(&current), Arc::clone(&peak));
            tokio::spawn(async move {
                let (priority, deadline) = if i % 2 == 0 {
                    (Priority::Critical, None)
                } else {
                    let wait = Duration::from_micros(u64::from(i % 50));
                    (Priority::NonCritical, Some(Instant::now() + wait))
                };
                let outcome = b.acquire(priority, deadline).await;
                let admitted = outcome.is_ok();
                if let Ok(permit) = outcome {
                    if permit.priority() == Priority::Critical {
                        let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                    }
                    for _ in 0..(i % 4) {
                        tokio::task::yield_now().await;
                    }
                    if permit.priority() == Priority::Critical {
                        current.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                (priority, admitted)
            })
        })
        .collect();
    let all = async {
        let mut critical_admitted = 0;
        for t in tasks {
            let (priority, admitted) = t.await.unwrap();
            if priority == Priority::Critical && admitted {
                critical_admitted += 1;
            }
        }
        critical_admitted
    };
    // A bound on the wait, not a sleep: a lost wake-up would hang a waiter without a deadline.
    let critical_admitted = tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("a waiter was never woken");
    assert_eq!(
        critical_admitted, 200,
        "every critical waiter fits in its queue"
    );
    assert!(peak.load(Ordering::SeqCst) <= MAX);
    for p in [Priority::Critical, Priority::NonCritical] {
        assert_eq!(b.in_flight(p), 0);
        assert_eq!(b.queued(p), 0);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Acquire(bool),
    Release(usize),
    Resize(u32, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(Op::Acquire),
        3 => any::<usize>().prop_map(Op::Release),
        1 => (1u32..6, 1u32..6).prop_map(|(c, n)| Op::Resize(c, n)),
    ]
}

fn priority(critical: bool) -> Priority {
    if critical {
        Priority::Critical
    } else {
        Priority::NonCritical
    }
}

proptest! {
    /// Against a model: `in_flight` equals the permits held, a class admits exactly when it is
    /// below its current limit, and everything is back to zero once all permits are dropped.
    #[test]
    fn counts_follow_the_permits(ops in proptest::collection::vec(op(), 1..200)) {
        let b = bulkhead(limits(3, 0), limits(2, 0));
        let mut held: Vec<BulkheadPermit<'_>> = Vec::new();
        for op in ops {
            match op {
                Op::Acquire(critical) => {
                    let p = priority(critical);
                    let holding = held.iter().filter(|h| h.priority() == p).count();
                    let room = holding < b.limits(p).max_concurrent as usize;
                    match b.try_acquire(p) {
                        Some(permit) => {
                            prop_assert!(room);
                            held.push(permit);
                        }
                        None => prop_assert!(!room),
                    }
                }
                Op::Release(i) if !held.is_empty() => {
                    let idx = i % held.len();
                    drop(held.swap_remove(idx));
                }
                Op::Release(_) => {}
                Op::Resize(c, n) => {
                    let config = BulkheadConfig::builder()
                        .critical(limits(c, 0))
                        .non_critical(limits(n, 0))
                        .build()
                        .unwrap();
                    b.resize(&config);
                    prop_assert_eq!(b.limits(Priority::Critical).max_concurrent, c);
                }
            }
            for p in [Priority::Critical, Priority::NonCritical] {
                let holding = held.iter().filter(|h| h.priority() == p).count();
                prop_assert_eq!(b.in_flight(p) as usize, holding);
            }
        }
        held.clear();
        for p in [Priority::Critical, Priority::NonCritical] {
            prop_assert_eq!(b.in_flight(p), 0);
            prop_assert_eq!(b.queued(p), 0);
        }
    }
}
