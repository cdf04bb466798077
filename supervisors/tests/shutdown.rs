//! Ordered, bounded shutdown and start-up failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bulwark_supervisors::{
    Shutdown, SpecError, Strategy, Supervisor, SupervisorError, SupervisorSpec,
};
use common::*;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn children_stop_in_reverse_order_and_a_stuck_one_is_killed_after_its_timeout() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_child(worker("a", &tx))
        .with_child(worker("stuck", &tx).with_shutdown(Shutdown::Timeout(Duration::from_secs(3))))
        .with_child(worker("c", &tx));
    let (sup, join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 3).await;
    let stuck = send(&sup, "stuck", Cmd::Hang).await;

    let t0 = Instant::now();
    sup.stop().await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(3),
        "waited exactly the stuck child's timeout"
    );
    // c stopped gracefully, stuck was killed (no post_stop), then a.
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["-c", "-a"]);
    assert_eq!(stuck.get_status(), ractor::ActorStatus::Stopped);
    join.await.unwrap();
}

#[tokio::test]
async fn brutal_children_are_killed_at_once() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::default()
        .with_child(worker("a", &tx))
        .with_child(worker("b", &tx).with_shutdown(Shutdown::Brutal));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 2).await;
    sup.stop().await;
    assert_eq!(started_ids(&take(&mut rx, 1).await), ["-a"]);
    assert!(rx.try_recv().is_err(), "b got no graceful stop");
}

#[tokio::test]
async fn a_child_that_fails_to_start_fails_the_supervisor_and_stops_the_others() {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::default()
        .with_child(worker("a", &tx))
        .with_child(worker("b", &tx))
        .with_child(failing_worker("c", &tx, Arc::new(AtomicU32::new(1))));
    let err = Supervisor::spawn(None, spec).await.unwrap_err();
    assert!(
        matches!(&err, SupervisorError::StartFailed { id, .. } if &**id == "c"),
        "{err:?}"
    );
    assert_eq!(
        started_ids(&take(&mut rx, 4).await),
        ["+a", "+b", "-b", "-a"]
    );
}

#[tokio::test]
async fn invalid_specs_are_refused() {
    let (tx, _rx) = events();
    let dup = SupervisorSpec::default()
        .with_child(worker("a", &tx))
        .with_child(worker("a", &tx));
    assert!(matches!(
        Supervisor::spawn(None, dup).await,
        Err(SupervisorError::InvalidSpec(SpecError::DuplicateChild(_)))
    ));
    let zero = SupervisorSpec::default().with_intensity(1, Duration::ZERO);
    assert!(matches!(
        Supervisor::spawn(None, zero).await,
        Err(SupervisorError::InvalidSpec(SpecError::ZeroPeriod))
    ));
}
