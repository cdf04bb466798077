//! Each restart type with normal and abnormal exits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    ChildStatus, Restart, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};
use common::*;
use tokio::sync::mpsc::UnboundedReceiver;

async fn supervise(restart: Restart) -> (SupervisorRef, UnboundedReceiver<Event>) {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(worker("w", &tx).with_restart(restart))
        .with_child(worker("other", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["+w", "+other"]);
    (sup, rx)
}

/// Makes child `w` exit, waits until it is gone (its exit is then queued at the supervisor, whose
/// supervision port is served before our next request).
async fn exit(sup: &SupervisorRef, cmd: Cmd) {
    let cell = send(sup, "w", cmd).await;
    cell.wait(None).await.unwrap();
}

async fn status_of_w(sup: &SupervisorRef) -> Option<(ChildStatus, u64)> {
    let snap = sup.snapshot().await.unwrap();
    snap.children
        .iter()
        .find(|c| c.id == "w")
        .map(|c| (c.status, c.restarts))
}

#[tokio::test]
async fn permanent_is_restarted_after_normal_and_abnormal_exits() {
    let (sup, mut rx) = supervise(Restart::Permanent).await;
    send(&sup, "w", Cmd::Stop).await;
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-w", "+w"]);
    send(&sup, "w", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "w");
    assert_eq!(status_of_w(&sup).await, Some((ChildStatus::Running, 2)));
    sup.stop().await;
}

#[tokio::test]
async fn transient_is_restarted_only_after_an_abnormal_exit() {
    let (sup, mut rx) = supervise(Restart::Transient).await;
    send(&sup, "w", Cmd::Fail).await;
    assert_eq!(next_start(&mut rx).await, "w");
    assert_eq!(status_of_w(&sup).await, Some((ChildStatus::Running, 1)));

    exit(&sup, Cmd::Stop).await;
    assert_eq!(next(&mut rx).await, Event::Stopped("w".into()));
    assert_eq!(status_of_w(&sup).await, Some((ChildStatus::Stopped, 1)));
    assert!(sup.child("w").await.unwrap().is_none());
    let counts = sup.count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active), (2, 1));
    sup.stop().await;
    assert_eq!(next(&mut rx).await, Event::Stopped("other".into()));
    assert!(rx.try_recv().is_err(), "no restart of w happened");
}

#[tokio::test]
async fn temporary_is_never_restarted_and_is_forgotten() {
    for cmd in [Cmd::Stop, Cmd::Panic] {
        let (sup, mut rx) = supervise(Restart::Temporary).await;
        exit(&sup, cmd).await;
        assert_eq!(status_of_w(&sup).await, None);
        let counts = sup.count_children().await.unwrap();
        assert_eq!((counts.specs, counts.active), (1, 1));
        sup.stop().await;
        let rest: Vec<String> =
            started_ids(&std::iter::from_fn(|| rx.try_recv().ok()).collect::<Vec<_>>());
        assert!(!rest.contains(&"+w".to_owned()), "{rest:?}");
    }
}
