//! Exit reasons are classified from ractor's event kinds, never from the text of a stop reason;
//! the snapshot's `last_failure` holds abnormal exits only. On paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    ChildStatus, ExitReason, Restart, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};
use common::*;
use tokio::sync::mpsc::UnboundedReceiver;

async fn supervise(restart: Restart) -> (SupervisorRef, UnboundedReceiver<Event>) {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(worker("w", &tx).with_restart(restart));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;
    (sup, rx)
}

async fn last_failure(sup: &SupervisorRef) -> Option<String> {
    sup.snapshot().await.unwrap().children[0]
        .last_failure
        .clone()
}

#[tokio::test(start_paused = true)]
async fn a_transient_child_stopping_itself_with_any_reason_text_is_not_restarted() {
    // "killed" is what ractor writes for a kill signal, "actor_task_cancelled" for a cancelled
    // task: a child choosing these words for a graceful stop still exited normally.
    for reason in ["killed", "actor_task_cancelled", "panicked", "failed"] {
        let (sup, mut rx) = supervise(Restart::Transient).await;
        send(&sup, "w", Cmd::StopWith(reason))
            .await
            .wait(None)
            .await
            .unwrap();
        assert_eq!(next(&mut rx).await, Event::Stopped("w".into()));
        let snap = sup.snapshot().await.unwrap();
        assert_eq!(snap.children[0].status, ChildStatus::Stopped, "{reason}");
        assert_eq!(snap.children[0].last_failure, None, "{reason}");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(rx.try_recv().is_err(), "{reason}: not restarted");
        sup.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_transient_child_that_fails_is_restarted_and_its_failure_recorded() {
    let (sup, mut rx) = supervise(Restart::Transient).await;
    send(&sup, "w", Cmd::Fail).await;
    assert_eq!(next_start(&mut rx).await, "w");
    assert_eq!(
        last_failure(&sup).await.as_deref(),
        Some("failed: w failed on purpose")
    );
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn last_failure_holds_only_abnormal_exits() {
    let (sup, mut rx) = supervise(Restart::Permanent).await;
    send(&sup, "w", Cmd::StopWith("killed")).await;
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-w", "+w"]);
    assert_eq!(
        last_failure(&sup).await,
        None,
        "a normal exit is no failure"
    );

    send(&sup, "w", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "w");
    let panicked = last_failure(&sup).await.unwrap();
    assert!(panicked.contains("panicked on purpose"), "{panicked}");

    send(&sup, "w", Cmd::Stop).await;
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-w", "+w"]);
    assert_eq!(
        last_failure(&sup).await.as_deref(),
        Some(panicked.as_str()),
        "the last abnormal exit stays"
    );
    assert_eq!(restarts(&sup).await, [("w".into(), 3)]);
    sup.stop().await;
}

#[test]
fn only_abnormal_reasons_are_abnormal() {
    assert!(ExitReason::Normal.is_normal());
    assert!(ExitReason::Shutdown("killed".into()).is_normal());
    assert!(!ExitReason::Killed.is_normal());
}
