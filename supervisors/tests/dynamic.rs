//! Children added and removed at run time, at scale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bulwark_supervisors::{ChildStatus, Strategy, Supervisor, SupervisorError, SupervisorSpec};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_children_one_crashes_only_it_restarts() {
    const N: usize = 10_000;
    let (tx, mut rx) = events();
    let (sup, _join) = Supervisor::spawn(None, SupervisorSpec::new(Strategy::OneForOne))
        .await
        .unwrap();
    for i in 0..N {
        sup.start_child(worker(&format!("tenant-{i}"), &tx))
            .await
            .unwrap();
    }
    assert_eq!(take(&mut rx, N).await.len(), N);
    let counts = sup.count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active, counts.workers), (N, N, N));

    let before = sup.child("tenant-4711").await.unwrap().unwrap().get_id();
    send(&sup, "tenant-4711", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "tenant-4711");
    assert_ne!(
        sup.child("tenant-4711").await.unwrap().unwrap().get_id(),
        before
    );

    let snap = sup.snapshot().await.unwrap();
    assert_eq!(snap.children.len(), N);
    assert!(
        snap.children
            .iter()
            .all(|c| c.status == ChildStatus::Running)
    );
    let restarted: Vec<&str> = snap
        .children
        .iter()
        .filter(|c| c.restarts > 0)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(restarted, ["tenant-4711"]);
    assert_eq!(sup.count_children().await.unwrap().active, N);
    sup.stop().await;
    assert_eq!(
        take(&mut rx, N).await.len(),
        N,
        "every child stopped gracefully"
    );
}

#[tokio::test]
async fn dynamic_children_follow_the_strategy_and_can_be_terminated() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .with_intensity(5, Duration::from_secs(5))
        .with_child(worker("static", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    sup.start_child(worker("d1", &tx)).await.unwrap();
    sup.start_child(worker("d2", &tx)).await.unwrap();
    assert_eq!(
        started_ids(&take(&mut rx, 3).await),
        ["+static", "+d1", "+d2"]
    );

    send(&sup, "d1", Cmd::Fail).await; // rest_for_one: d2 started after d1
    assert_eq!(started_ids(&take(&mut rx, 3).await), ["-d2", "+d1", "+d2"]);

    sup.terminate_child("d1").await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("d1".into()));
    assert!(sup.child("d1").await.unwrap().is_none());
    sup.delete_child("d1").await.unwrap();
    assert!(
        matches!(sup.terminate_child("d1").await, Err(SupervisorError::NoSuchChild(id)) if &*id == "d1")
    );
    assert_eq!(sup.count_children().await.unwrap().specs, 2);

    send(&sup, "static", Cmd::Panic).await; // d2 is now right after static
    assert_eq!(
        started_ids(&take(&mut rx, 3).await),
        ["-d2", "+static", "+d2"]
    );

    sup.remove_child_nowait("d2").unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("d2".into()));
    sup.remove_child_nowait("unknown").unwrap();
    assert_eq!(sup.count_children().await.unwrap().specs, 1);
    sup.stop().await;
}

#[tokio::test]
async fn refused_dynamic_children_are_not_kept() {
    let (tx, mut rx) = events();
    let (sup, _join) = Supervisor::spawn(None, SupervisorSpec::default())
        .await
        .unwrap();
    sup.start_child(worker("a", &tx)).await.unwrap();
    take(&mut rx, 1).await;
    assert!(
        matches!(sup.start_child(worker("a", &tx)).await, Err(SupervisorError::AlreadyStarted { id, .. }) if &*id == "a")
    );

    let refuses = failing_worker("b", &tx, Arc::new(AtomicU32::new(1)));
    let err = sup.start_child(refuses).await.unwrap_err();
    assert!(
        matches!(&err, SupervisorError::StartFailed { id, .. } if &**id == "b"),
        "{err:?}"
    );
    assert_eq!(sup.count_children().await.unwrap().specs, 1);
    assert!(sup.child("b").await.unwrap().is_none());
    sup.stop().await;
    assert!(matches!(
        sup.count_children().await,
        Err(SupervisorError::Unavailable)
    ));
}
