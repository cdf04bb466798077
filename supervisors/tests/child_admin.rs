//! OTP's child administration: terminate_child, restart_child, delete_child, start_child with an
//! id already present; on paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_supervisors::{
    Backoff, ChildStatus, Restart, Strategy, Supervisor, SupervisorError, SupervisorSpec,
};
use common::*;

fn spec(tx: &tokio::sync::mpsc::UnboundedSender<Event>) -> SupervisorSpec {
    SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(worker("p", tx))
        .with_child(worker("t", tx).with_restart(Restart::Transient))
        .with_child(worker("tmp", tx).with_restart(Restart::Temporary))
}

/// The supervisor of [`spec`], its three children started.
async fn started(
    tx: &tokio::sync::mpsc::UnboundedSender<Event>,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
) -> bulwark_supervisors::SupervisorRef {
    let (sup, _join) = Supervisor::spawn(None, spec(tx)).await.unwrap();
    assert_eq!(started_ids(&take(rx, 3).await), ["+p", "+t", "+tmp"]);
    sup
}

#[tokio::test(start_paused = true)]
async fn terminate_keeps_permanent_and_transient_specs_and_forgets_temporary_ones() {
    let (tx, mut rx) = events();
    let sup = started(&tx, &mut rx).await;

    for id in ["p", "t", "tmp"] {
        sup.terminate_child(id).await.unwrap();
        assert_eq!(next(&mut rx).await, Event::Stopped(id.into()));
    }
    assert_eq!(
        statuses(&sup).await,
        rows(&[("p", ChildStatus::Stopped), ("t", ChildStatus::Stopped)])
    );
    let counts = sup.count_children().await.unwrap();
    assert_eq!((counts.specs, counts.active), (2, 0));
    sup.terminate_child("p").await.unwrap(); // already stopped: nothing to do, as OTP
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(
        rx.try_recv().is_err(),
        "terminated children are not restarted"
    );
    assert!(matches!(
        sup.terminate_child("tmp").await,
        Err(SupervisorError::NoSuchChild(id)) if &*id == "tmp"
    ));
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn restart_child_starts_a_stopped_child_and_refuses_a_running_one() {
    let (tx, mut rx) = events();
    let sup = started(&tx, &mut rx).await;
    assert!(matches!(
        sup.restart_child("p").await,
        Err(SupervisorError::ChildRunning(id)) if &*id == "p"
    ));

    sup.terminate_child("p").await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("p".into()));
    let cell = sup.restart_child("p").await.unwrap().unwrap();
    assert_eq!(
        next(&mut rx).await,
        Event::Started("p".into(), cell.get_id())
    );
    assert_eq!(
        sup.child("p").await.unwrap().unwrap().get_id(),
        cell.get_id()
    );
    let snap = sup.snapshot().await.unwrap();
    assert_eq!(
        (snap.children[0].restarts, snap.restarts_in_period),
        (0, 0),
        "a restart on request is neither a supervision restart nor counted by the intensity"
    );

    // A transient child that exited normally is restartable too.
    let t = send(&sup, "t", Cmd::Stop).await;
    t.wait(None).await.unwrap();
    assert_eq!(next(&mut rx).await, Event::Stopped("t".into()));
    sup.restart_child("t").await.unwrap().unwrap();
    assert_eq!(next_start(&mut rx).await, "t");
    assert!(matches!(
        sup.restart_child("nope").await,
        Err(SupervisorError::NoSuchChild(_))
    ));
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn restart_child_that_fails_to_start_stays_stopped() {
    let (tx, mut rx) = events();
    let fail = Arc::new(AtomicU32::new(0));
    let spec = SupervisorSpec::default().with_child(failing_worker("w", &tx, Arc::clone(&fail)));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;
    sup.terminate_child("w").await.unwrap();
    take(&mut rx, 1).await;

    fail.store(1, Ordering::SeqCst);
    let err = sup.restart_child("w").await.unwrap_err();
    assert!(
        matches!(&err, SupervisorError::StartFailed { id, .. } if &**id == "w"),
        "{err:?}"
    );
    assert_eq!(statuses(&sup).await, rows(&[("w", ChildStatus::Stopped)]));
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(
        rx.try_recv().is_err(),
        "a failed restart_child is not retried"
    );
    sup.restart_child("w").await.unwrap().unwrap();
    assert_eq!(next_start(&mut rx).await, "w");
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn delete_child_forgets_only_stopped_children() {
    let (tx, mut rx) = events();
    let sup = started(&tx, &mut rx).await;
    assert!(matches!(
        sup.delete_child("t").await,
        Err(SupervisorError::ChildRunning(id)) if &*id == "t"
    ));
    sup.terminate_child("t").await.unwrap();
    sup.delete_child("t").await.unwrap();
    assert_eq!(
        sup.snapshot()
            .await
            .unwrap()
            .children
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["p", "tmp"]
    );
    assert!(matches!(
        sup.delete_child("t").await,
        Err(SupervisorError::NoSuchChild(_))
    ));
    assert!(matches!(
        sup.restart_child("t").await,
        Err(SupervisorError::NoSuchChild(_))
    ));
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_child_waiting_for_its_restart_can_be_neither_restarted_nor_deleted() {
    let (tx, mut rx) = events();
    let backoff =
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(1), 0.0).unwrap();
    let spec = SupervisorSpec::default().with_child(worker("w", &tx).with_backoff(backoff));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;
    send(&sup, "w", Cmd::Fail).await.wait(None).await.unwrap();

    assert!(matches!(
        sup.restart_child("w").await,
        Err(SupervisorError::ChildRestarting(id)) if &*id == "w"
    ));
    assert!(matches!(
        sup.delete_child("w").await,
        Err(SupervisorError::ChildRestarting(_))
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(next_start(&mut rx).await, "w");
    sup.stop().await;
}

#[tokio::test(start_paused = true)]
async fn start_child_with_an_id_already_held_is_refused() {
    let (tx, mut rx) = events();
    let sup = started(&tx, &mut rx).await;
    let running = sup.child("p").await.unwrap().unwrap();
    let err = sup.start_child(worker("p", &tx)).await.unwrap_err();
    assert!(
        matches!(&err, SupervisorError::AlreadyStarted { id, actor } if &**id == "p" && actor.get_id() == running.get_id()),
        "{err:?}"
    );

    sup.terminate_child("p").await.unwrap();
    assert!(matches!(
        sup.start_child(worker("p", &tx)).await,
        Err(SupervisorError::AlreadyPresent(id)) if &*id == "p"
    ));
    sup.delete_child("p").await.unwrap();
    sup.start_child(worker("p", &tx)).await.unwrap().unwrap();
    assert_eq!(
        statuses(&sup).await.last(),
        Some(&("p".to_owned(), ChildStatus::Running)),
        "a child started again takes the last place in start order"
    );
    sup.stop().await;
}
