//! Restart backoff under paused tokio time: no real sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bulwark_supervisors::{Backoff, ChildStatus, Strategy, Supervisor, SupervisorSpec};
use common::*;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn spec(child: bulwark_supervisors::ChildSpec) -> SupervisorSpec {
    SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(100, Duration::from_secs(1))
        .with_child(child)
}

#[tokio::test(start_paused = true)]
async fn delays_double_up_to_max_and_reset_after_stable_running() {
    let (tx, mut rx) = events();
    let backoff = Backoff::exponential(ms(100), ms(800), 0.0)
        .unwrap()
        .with_reset_after(Duration::from_secs(2))
        .unwrap();
    let (sup, _join) = Supervisor::spawn(None, spec(worker("w", &tx).with_backoff(backoff)))
        .await
        .unwrap();
    take(&mut rx, 1).await;

    let mut delays = Vec::new();
    for _ in 0..5 {
        send(&sup, "w", Cmd::Panic).await;
        let crashed = Instant::now();
        assert_eq!(next_start(&mut rx).await, "w");
        delays.push(crashed.elapsed().as_millis());
    }
    assert_eq!(delays, [100, 200, 400, 800, 800]);

    tokio::time::advance(Duration::from_secs(2)).await; // stable long enough: reset
    send(&sup, "w", Cmd::Panic).await;
    let crashed = Instant::now();
    assert_eq!(next_start(&mut rx).await, "w");
    assert_eq!(crashed.elapsed(), ms(100));
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_child_is_reported_restarting_and_is_not_started_before_its_delay() {
    let (tx, mut rx) = events();
    let backoff = Backoff::exponential(ms(500), ms(500), 0.0).unwrap();
    let (sup, _join) = Supervisor::spawn(None, spec(worker("w", &tx).with_backoff(backoff)))
        .await
        .unwrap();
    take(&mut rx, 1).await;

    let cell = send(&sup, "w", Cmd::Fail).await;
    cell.wait(None).await.unwrap();
    let snap = sup.snapshot().await.unwrap();
    assert_eq!(
        snap.children[0].status,
        ChildStatus::Restarting { in_ms: 500 }
    );
    assert!(sup.child("w").await.unwrap().is_none());

    tokio::time::advance(ms(499)).await;
    assert!(rx.try_recv().is_err(), "not restarted before its delay");
    assert_eq!(sup.count_children().await.unwrap().restarting, 1);
    tokio::time::advance(ms(1)).await;
    assert_eq!(next_start(&mut rx).await, "w");
    assert_eq!(
        sup.snapshot().await.unwrap().children[0].status,
        ChildStatus::Running
    );
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failed_restarts_are_retried_with_growing_delays() {
    let (tx, mut rx) = events();
    let fail = Arc::new(AtomicU32::new(0));
    let backoff = Backoff::exponential(ms(100), Duration::from_secs(10), 0.0).unwrap();
    let child = failing_worker("w", &tx, Arc::clone(&fail)).with_backoff(backoff);
    let (sup, _join) = Supervisor::spawn(None, spec(child)).await.unwrap();
    take(&mut rx, 1).await;

    fail.store(3, std::sync::atomic::Ordering::SeqCst); // the next three starts fail
    send(&sup, "w", Cmd::Panic).await;
    let crashed = Instant::now();
    assert_eq!(next_start(&mut rx).await, "w");
    // 100 (crash) + 200 + 400 + 800 (three failed starts) ms
    assert_eq!(crashed.elapsed(), ms(1500));
    let snap = sup.snapshot().await.unwrap();
    assert_eq!(snap.children[0].restarts, 1);
    assert!(
        snap.children[0]
            .last_failure
            .as_deref()
            .unwrap()
            .contains("refuses to start")
    );
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_the_random_factor() {
    let (tx, mut rx) = events();
    let backoff = Backoff::exponential(ms(100), ms(100), 0.5).unwrap();
    let (sup, _join) = Supervisor::spawn(None, spec(worker("w", &tx).with_backoff(backoff)))
        .await
        .unwrap();
    take(&mut rx, 1).await;
    for _ in 0..10 {
        send(&sup, "w", Cmd::Panic).await;
        let crashed = Instant::now();
        next_start(&mut rx).await;
        let d = crashed.elapsed();
        assert!(d >= ms(100) && d <= ms(150), "{d:?}");
    }
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_manual_reset_brings_the_next_delay_back_to_the_minimum() {
    let (tx, mut rx) = events();
    let backoff = Backoff::exponential(ms(100), Duration::from_secs(10), 0.0).unwrap();
    let (sup, _join) = Supervisor::spawn(None, spec(worker("w", &tx).with_backoff(backoff)))
        .await
        .unwrap();
    take(&mut rx, 1).await;

    let mut crash = async || {
        send(&sup, "w", Cmd::Panic).await;
        let crashed = Instant::now();
        assert_eq!(next_start(&mut rx).await, "w");
        crashed.elapsed().as_millis()
    };
    assert_eq!(
        [crash().await, crash().await, crash().await],
        [100, 200, 400]
    );
    sup.reset_backoff("w").await.unwrap();
    assert_eq!(crash().await, 100, "Akka's BackoffSupervisor.Reset");
    assert_eq!(crash().await, 200);

    assert!(matches!(
        sup.reset_backoff("nope").await,
        Err(bulwark_supervisors::SupervisorError::NoSuchChild(_))
    ));
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn settings_that_would_silently_mean_no_backoff_are_refused() {
    let err = Backoff::exponential(Duration::ZERO, Duration::from_secs(1), 0.0).unwrap_err();
    assert_eq!(
        err,
        bulwark_supervisors::InvalidBackoff::ZeroMin {
            max: Duration::from_secs(1)
        }
    );
    assert!(Backoff::exponential(ms(1), ms(10), 1.5).is_err());
    assert!(
        Backoff::exponential(ms(10), ms(100), 0.0)
            .unwrap()
            .with_reset_after(ms(5))
            .is_err()
    );
}
