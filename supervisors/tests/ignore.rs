//! A start function that returns `Started::Ignore` (OTP's `ignore`), on paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bulwark_supervisors::{ChildStatus, Restart, Strategy, Supervisor, SupervisorSpec};
use common::*;

fn ignore(n: u32) -> Arc<AtomicU32> {
    Arc::new(AtomicU32::new(n))
}

#[tokio::test(start_paused = true)]
async fn an_ignored_child_is_kept_not_running_and_not_restarted() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_child(worker("a", &tx))
        .with_child(ignoring_worker("i", &tx, ignore(1)))
        .with_child(ignoring_worker("gone", &tx, ignore(1)).with_restart(Restart::Temporary));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["+a"]);
    assert_eq!(
        statuses(&sup).await,
        rows(&[("a", ChildStatus::Running), ("i", ChildStatus::Stopped)]),
        "the temporary ignored child is not kept"
    );
    let counts = sup.count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active), (2, 1));
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(rx.try_recv().is_err(), "not restarted");

    // restart_child tries again; this time the start runs it.
    sup.restart_child("i").await.unwrap().unwrap();
    assert_eq!(next_start(&mut rx).await, "i");
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn start_child_and_restart_child_answer_none_when_ignored() {
    let (tx, mut rx) = events();
    let (sup, _join) = Supervisor::spawn(None, SupervisorSpec::default())
        .await
        .unwrap();
    assert!(
        sup.start_child(ignoring_worker("i", &tx, ignore(2)))
            .await
            .unwrap()
            .is_none()
    );
    assert!(sup.restart_child("i").await.unwrap().is_none());
    assert_eq!(statuses(&sup).await, rows(&[("i", ChildStatus::Stopped)]));
    let temporary = ignoring_worker("t", &tx, ignore(1)).with_restart(Restart::Temporary);
    assert!(sup.start_child(temporary).await.unwrap().is_none());
    assert_eq!(sup.count_children().await.unwrap().specs, 1);
    assert!(rx.try_recv().is_err());
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_that_ignores_leaves_the_child_stopped() {
    let (tx, mut rx) = events();
    let flag = ignore(0);
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(ignoring_worker("i", &tx, Arc::clone(&flag)));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;

    flag.store(1, std::sync::atomic::Ordering::SeqCst); // the restart will ignore
    send(&sup, "i", Cmd::Panic).await.wait(None).await.unwrap();
    let snap = sup.snapshot().await.unwrap();
    assert_eq!(snap.children[0].status, ChildStatus::Stopped);
    assert_eq!(snap.children[0].restarts, 0, "no incarnation was started");
    assert!(
        snap.children[0]
            .last_failure
            .as_deref()
            .unwrap()
            .contains("panicked")
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(rx.try_recv().is_err(), "not restarted again");
    sup.stop().await;
}
