//! Group restarts (one_for_all, rest_for_one) with stopped children and terminated members, on
//! paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    Backoff, ChildSpec, ChildStatus, Restart, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};
use common::*;
use tokio::sync::mpsc::UnboundedReceiver;

const RESTARTING_IN_1S: ChildStatus = ChildStatus::Restarting { in_ms: 1000 };

fn one_second() -> Backoff {
    Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1), 0.0).unwrap()
}

/// [a, b, c] under `strategy`, b built by `b`; all started.
async fn group(
    strategy: Strategy,
    b: impl FnOnce(ChildSpec) -> ChildSpec,
) -> (SupervisorRef, UnboundedReceiver<Event>) {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(strategy)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(worker("a", &tx).with_backoff(one_second()))
        .with_child(b(worker("b", &tx)))
        .with_child(worker("c", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    assert_eq!(started_ids(&take(&mut rx, 3).await), ["+a", "+b", "+c"]);
    (sup, rx)
}

/// b (transient) stops normally and stays stopped; then a fails: OTP restarts a, b and c.
async fn a_fails_after_b_stopped_normally(strategy: Strategy) {
    let (sup, mut rx) = group(strategy, |b| b.with_restart(Restart::Transient)).await;
    let b = send(&sup, "b", Cmd::Stop).await;
    b.wait(None).await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("b".into()));
    assert_eq!(statuses(&sup).await[1], ("b".into(), ChildStatus::Stopped));

    send(&sup, "a", Cmd::Fail).await;
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["-c"]);
    assert_eq!(
        statuses(&sup).await,
        rows(&[
            ("a", RESTARTING_IN_1S),
            ("b", RESTARTING_IN_1S),
            ("c", RESTARTING_IN_1S)
        ]),
        "the stopped transient child is part of the group restart"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(started_ids(&take(&mut rx, 3).await), ["+a", "+b", "+c"]);
    assert_eq!(
        restarts(&sup).await,
        [("a".into(), 1), ("b".into(), 1), ("c".into(), 1)]
    );
    assert_eq!(sup.count_children().await.unwrap().active, 3);
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn one_for_all_restarts_a_stopped_transient_sibling() {
    a_fails_after_b_stopped_normally(Strategy::OneForAll).await;
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_a_stopped_transient_sibling_after_the_failed_child() {
    a_fails_after_b_stopped_normally(Strategy::RestForOne).await;
}

#[tokio::test(start_paused = true)]
async fn terminating_the_failed_child_cancels_the_whole_pending_group_restart() {
    let (sup, mut rx) = group(Strategy::RestForOne, |b| b.with_backoff(one_second())).await;
    send(&sup, "b", Cmd::Fail).await;
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["-c"]);
    assert_eq!(
        statuses(&sup).await[1..],
        rows(&[("b", RESTARTING_IN_1S), ("c", RESTARTING_IN_1S)])
    );

    sup.terminate_child("b").await.unwrap();
    let left_as_is = rows(&[
        ("a", ChildStatus::Running),
        ("b", ChildStatus::Stopped),
        ("c", ChildStatus::Stopped),
    ]);
    assert_eq!(statuses(&sup).await, left_as_is);

    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        statuses(&sup).await,
        left_as_is,
        "2 s later, still as the operator left it"
    );
    assert!(sup.child("c").await.unwrap().is_none());
    assert!(rx.try_recv().is_err(), "nothing was started");

    // The specs are kept: the operator brings the group back.
    sup.restart_child("b").await.unwrap().unwrap();
    sup.restart_child("c").await.unwrap().unwrap();
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["+b", "+c"]);
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn terminating_another_member_cancels_only_its_part() {
    let (sup, mut rx) = group(Strategy::RestForOne, |b| b.with_backoff(one_second())).await;
    send(&sup, "b", Cmd::Fail).await;
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["-c"]);

    sup.terminate_child("c").await.unwrap();
    assert_eq!(
        statuses(&sup).await[1..],
        rows(&[("b", RESTARTING_IN_1S), ("c", ChildStatus::Stopped)])
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(next_start(&mut rx).await, "b");
    assert_eq!(
        statuses(&sup).await,
        rows(&[
            ("a", ChildStatus::Running),
            ("b", ChildStatus::Running),
            ("c", ChildStatus::Stopped),
        ])
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(rx.try_recv().is_err(), "c stays stopped");
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn terminating_a_child_waiting_for_its_backoff_keeps_it_stopped() {
    let (sup, mut rx) = group(Strategy::OneForOne, |b| b.with_backoff(one_second())).await;
    let b = send(&sup, "b", Cmd::Panic).await;
    b.wait(None).await.unwrap();
    assert_eq!(statuses(&sup).await[1], ("b".into(), RESTARTING_IN_1S));
    sup.terminate_child("b").await.unwrap();
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(statuses(&sup).await[1], ("b".into(), ChildStatus::Stopped));
    assert!(rx.try_recv().is_err(), "b was not restarted");
    sup.stop().await;
}
