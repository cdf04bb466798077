//! Significant children and auto shutdown (OTP 24), on paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    AUTO_SHUTDOWN_REASON, AutoShutdown, Backoff, ChildSpec, ChildStatus, ExitReason, Restart,
    SpecError, Strategy, Supervisor, SupervisorError, SupervisorSpec,
};
use common::*;
use tokio::sync::mpsc;

fn significant(id: &str, tx: &mpsc::UnboundedSender<Event>, restart: Restart) -> ChildSpec {
    worker(id, tx).with_restart(restart).with_significant(true)
}

fn spec(auto: AutoShutdown) -> SupervisorSpec {
    SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(10, Duration::from_secs(5))
        .with_auto_shutdown(auto)
}

#[tokio::test(start_paused = true)]
async fn any_significant_shuts_down_when_a_significant_child_finishes() {
    let (tx, mut rx) = events();
    let spec = spec(AutoShutdown::AnySignificant)
        .with_child(worker("a", &tx))
        .with_child(significant("job", &tx, Restart::Transient))
        .with_child(worker("c", &tx));
    let mut linked = spawn_linked(spec).await;
    take(&mut rx, 3).await;

    send(&linked.sup, "job", Cmd::Stop).await;
    assert_eq!(
        started_ids(&take(&mut rx, 3).await),
        ["-job", "-c", "-a"],
        "the others stop in reverse start order"
    );
    within(linked.join).await.unwrap();
    let reason = next_exit(&mut linked.exits).await;
    assert!(reason.is_normal(), "{reason:?}");
    assert!(
        matches!(&reason, ExitReason::Shutdown(r) if r.starts_with(AUTO_SHUTDOWN_REASON) && r.contains("job")),
        "{reason:?}"
    );
    linked.parent.stop(None);
}

#[tokio::test(start_paused = true)]
async fn a_significant_child_that_is_restarted_does_not_shut_down() {
    let (tx, mut rx) = events();
    let spec = spec(AutoShutdown::AnySignificant)
        .with_child(significant("job", &tx, Restart::Transient))
        .with_child(worker("b", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 2).await;
    send(&sup, "job", Cmd::Fail).await;
    assert_eq!(next_start(&mut rx).await, "job");

    // A terminate on request is not the child's own termination either.
    sup.terminate_child("job").await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("job".into()));
    assert_eq!(
        statuses(&sup).await,
        rows(&[("job", ChildStatus::Stopped), ("b", ChildStatus::Running)])
    );
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn all_significant_waits_for_the_last_significant_child() {
    let (tx, mut rx) = events();
    let spec = spec(AutoShutdown::AllSignificant)
        .with_child(significant("x", &tx, Restart::Transient))
        .with_child(significant("y", &tx, Restart::Temporary))
        .with_child(worker("z", &tx));
    let (sup, join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 3).await;

    send(&sup, "x", Cmd::Stop).await.wait(None).await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("x".into()));
    assert_eq!(sup.count_children().await.unwrap().active, 2, "y is alive");

    send(&sup, "y", Cmd::Panic).await; // temporary: any exit is final
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["-z"]);
    within(join).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_significant_child_waiting_for_its_restart_counts_as_alive() {
    let (tx, mut rx) = events();
    let backoff =
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1), 0.0).unwrap();
    let spec = spec(AutoShutdown::AllSignificant)
        .with_child(significant("x", &tx, Restart::Transient).with_backoff(backoff))
        .with_child(significant("y", &tx, Restart::Transient));
    let (sup, join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 2).await;

    send(&sup, "x", Cmd::Fail).await.wait(None).await.unwrap();
    send(&sup, "y", Cmd::Stop).await.wait(None).await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("y".into()));
    assert_eq!(
        statuses(&sup).await,
        rows(&[
            ("x", ChildStatus::Restarting { in_ms: 1000 }),
            ("y", ChildStatus::Stopped)
        ])
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(next_start(&mut rx).await, "x");
    send(&sup, "x", Cmd::Stop).await;
    assert_eq!(next(&mut rx).await, Event::Stopped("x".into()));
    within(join).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_finished_pipeline_shuts_its_subtree_down_and_its_transient_parent_keeps_it_stopped() {
    let (tx, mut rx) = events();
    let pipeline = spec(AutoShutdown::AnySignificant)
        .with_child(worker("cache", &tx))
        .with_child(significant("job", &tx, Restart::Transient));
    let root = SupervisorSpec::new(Strategy::OneForOne)
        .with_child(worker("server", &tx))
        .with_child(ChildSpec::supervisor("pipeline", pipeline).with_restart(Restart::Transient));
    let (root, _join) = Supervisor::spawn(None, root).await.unwrap();
    take(&mut rx, 3).await;
    let pipeline = root.child_supervisor("pipeline").await.unwrap().unwrap();
    let pipeline_cell = pipeline.cell();

    send(&pipeline, "job", Cmd::Stop).await;
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-job", "-cache"]);
    pipeline_cell.wait(None).await.unwrap();
    let snap = root.snapshot().await.unwrap();
    let p = &snap.children[1];
    assert_eq!(
        (p.status, p.restarts, p.last_failure.as_deref()),
        (ChildStatus::Stopped, 0, None)
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(rx.try_recv().is_err(), "the pipeline is not restarted");
    assert_eq!(snap.children[0].status, ChildStatus::Running);
    root.stop().await;
}

#[tokio::test(start_paused = true)]
async fn misplaced_significant_children_are_refused() {
    let (tx, _rx) = events();
    let permanent =
        spec(AutoShutdown::AnySignificant).with_child(worker("p", &tx).with_significant(true));
    assert!(matches!(
        Supervisor::spawn(None, permanent).await,
        Err(SupervisorError::InvalidSpec(SpecError::SignificantPermanent(id))) if &*id == "p"
    ));
    let never = spec(AutoShutdown::Never).with_child(significant("t", &tx, Restart::Transient));
    assert!(matches!(
        Supervisor::spawn(None, never).await,
        Err(SupervisorError::InvalidSpec(SpecError::SignificantWithoutAutoShutdown(id))) if &*id == "t"
    ));

    let (sup, _join) = Supervisor::spawn(None, spec(AutoShutdown::Never))
        .await
        .unwrap();
    assert!(matches!(
        sup.start_child(significant("t", &tx, Restart::Temporary))
            .await,
        Err(SupervisorError::InvalidSpec(
            SpecError::SignificantWithoutAutoShutdown(_)
        ))
    ));
    assert_eq!(sup.count_children().await.unwrap().specs, 0);
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_shows_significance() {
    let (tx, _rx) = events();
    let spec = spec(AutoShutdown::AllSignificant)
        .with_child(significant("t", &tx, Restart::Transient))
        .with_child(worker("p", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    let snap = sup.snapshot().await.unwrap();
    assert_eq!(snap.auto_shutdown, AutoShutdown::AllSignificant);
    assert_eq!(
        snap.children
            .iter()
            .map(|c| c.significant)
            .collect::<Vec<_>>(),
        [true, false]
    );
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["auto_shutdown"], "all_significant");
    sup.stop().await;
}
