//! Restart intensity: exceeding it stops the children and fails the supervisor to its parent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    ChildSpec, ChildStatus, ExitReason, Strategy, Supervisor, SupervisorError, SupervisorRef,
    SupervisorSpec,
};
use common::*;
use metrics_util::debugging::DebuggingRecorder;

#[tokio::test(start_paused = true)]
async fn exceeding_the_intensity_stops_children_in_reverse_and_fails_to_the_parent() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::default() // OTP default: 1 restart in 5 s
        .with_child(worker("a", &tx))
        .with_child(worker("b", &tx))
        .with_child(worker("c", &tx));
    let mut linked = spawn_linked(spec).await;
    take(&mut rx, 3).await;

    send(&linked.sup, "b", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "b");
    tokio::time::advance(Duration::from_secs(4)).await;
    send(&linked.sup, "b", Cmd::Panic).await;

    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-c", "-a"]);
    let reason = next_exit(&mut linked.exits).await;
    let err = supervisor_error(&reason);
    assert!(
        matches!(err, SupervisorError::IntensityExceeded { child, max_restarts: 1, reason: ExitReason::Failed(_), .. } if &**child == "b"),
        "{err:?}"
    );
    within(linked.join).await.unwrap();
    linked.parent.stop(None);
}

#[tokio::test(start_paused = true)]
async fn restarts_spread_wider_than_the_period_do_not_escalate() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::default().with_child(worker("a", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;
    for _ in 0..5 {
        send(&sup, "a", Cmd::Fail).await;
        assert_eq!(next_start(&mut rx).await, "a");
        tokio::time::advance(Duration::from_millis(5001)).await;
    }
    assert_eq!(restarts(&sup).await, [("a".to_owned(), 5)]);
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_exactly_one_period_ago_still_counts() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::default().with_child(worker("a", &tx)); // 1 restart in 5 s
    let mut linked = spawn_linked(spec).await;
    take(&mut rx, 1).await;

    send(&linked.sup, "a", Cmd::Fail).await;
    assert_eq!(next_start(&mut rx).await, "a");
    tokio::time::advance(Duration::from_secs(5)).await; // the first restart is exactly 5 s old
    send(&linked.sup, "a", Cmd::Fail).await;

    let reason = next_exit(&mut linked.exits).await;
    let err = supervisor_error(&reason);
    assert!(
        matches!(err, SupervisorError::IntensityExceeded { .. }),
        "{err:?}"
    );
    within(linked.join).await.unwrap();
    assert!(rx.try_recv().is_err(), "a was not restarted a second time");
    linked.parent.stop(None);
}

#[tokio::test(start_paused = true)]
async fn a_nested_supervisor_escalates_and_its_parent_restarts_it() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let (tx, mut rx) = events();
    let mid = SupervisorSpec::new(Strategy::OneForOne).with_child(worker("leaf", &tx));
    let root = SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(3, Duration::from_secs(5))
        .with_child(ChildSpec::supervisor("mid", mid));
    let (root, _join) = Supervisor::spawn(Some("escalation-root".into()), root)
        .await
        .unwrap();
    assert_eq!(next_start(&mut rx).await, "leaf");
    let mid_ref = SupervisorRef::from_cell(root.child("mid").await.unwrap().unwrap()).unwrap();

    send(&mid_ref, "leaf", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "leaf");
    send(&mid_ref, "leaf", Cmd::Panic).await; // second restart in 5 s: mid gives up
    assert_eq!(next_start(&mut rx).await, "leaf"); // started again by the restarted mid

    let snap = root.snapshot().await.unwrap();
    let mid_snap = &snap.children[0];
    assert_eq!(
        (mid_snap.id.as_str(), mid_snap.restarts, mid_snap.status),
        ("mid", 1, ChildStatus::Running)
    );
    assert!(
        mid_snap
            .last_failure
            .as_deref()
            .unwrap()
            .contains("exceeded its restart intensity")
    );
    let nested = mid_snap.supervisor.as_ref().unwrap();
    assert_eq!(nested.children[0].restarts, 0, "a fresh incarnation of mid");

    let metrics = snapshotter.snapshot().into_vec();
    let value = |name: &str, label: &str| {
        metrics.iter().find_map(|(key, _, _, value)| {
            let k = key.key();
            (k.name() == name && k.labels().any(|l| l.value() == label))
                .then(|| format!("{value:?}"))
        })
    };
    assert_eq!(
        value("bulwark_supervisor_escalations_total", "mid").as_deref(),
        Some("Counter(1)")
    );
    assert_eq!(
        value("bulwark_actor_restarts_total", "mid").as_deref(),
        Some("Counter(1)")
    );
    assert_eq!(
        value("bulwark_actor_restarts_total", "leaf").as_deref(),
        Some("Counter(1)")
    );
    root.stop().await;
}
