//! A supervisor of supervisors recovering from crashes deep in the tree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{
    ChildKind, ChildSpec, ChildStatus, Strategy, Supervisor, SupervisorRef, SupervisorSpec,
};
use common::*;

fn tree(tx: &tokio::sync::mpsc::UnboundedSender<Event>) -> SupervisorSpec {
    let left = SupervisorSpec::new(Strategy::OneForOne)
        .with_child(worker("l1", tx))
        .with_child(worker("l2", tx));
    let right = SupervisorSpec::new(Strategy::OneForAll).with_child(worker("r1", tx));
    SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(3, Duration::from_secs(5))
        .with_child(ChildSpec::supervisor("left", left))
        .with_child(ChildSpec::supervisor("right", right))
}

async fn nested(root: &SupervisorRef, id: &str) -> SupervisorRef {
    root.child_supervisor(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_leaf_crash_restarts_only_the_leaf() {
    let (tx, mut rx) = events();
    let (root, _join) = Supervisor::spawn(None, tree(&tx)).await.unwrap();
    assert_eq!(started_ids(&take(&mut rx, 3).await), ["+l1", "+l2", "+r1"]);
    let left = nested(&root, "left").await;
    let left_id = left.cell().get_id();
    let right_id = root.child("right").await.unwrap().unwrap().get_id();

    send(&left, "l2", Cmd::Panic).await;
    assert_eq!(next_start(&mut rx).await, "l2");

    assert_eq!(root.child("left").await.unwrap().unwrap().get_id(), left_id);
    assert_eq!(
        root.child("right").await.unwrap().unwrap().get_id(),
        right_id
    );
    let snap = root.snapshot().await.unwrap();
    assert_eq!(
        snap.children.iter().map(|c| c.restarts).collect::<Vec<_>>(),
        [0, 0]
    );
    let l = snap.children[0].supervisor.as_ref().unwrap();
    assert_eq!(
        l.children
            .iter()
            .map(|c| (c.id.as_str(), c.restarts))
            .collect::<Vec<_>>(),
        [("l1", 0), ("l2", 1)]
    );
    assert!(
        l.children[1]
            .last_failure
            .as_deref()
            .unwrap()
            .contains("panicked on purpose")
    );
    root.stop().await;
}

#[tokio::test]
async fn a_killed_middle_supervisor_is_restarted_with_its_children() {
    let (tx, mut rx) = events();
    let (root, _join) = Supervisor::spawn(None, tree(&tx)).await.unwrap();
    take(&mut rx, 3).await;
    let left = nested(&root, "left").await;
    left.cell().kill();
    // killed: its children are killed with it (no post_stop), then it is started again
    assert_eq!(started_ids(&take(&mut rx, 2).await), ["+l1", "+l2"]);
    let snap = root.snapshot().await.unwrap();
    assert_eq!(snap.children[0].restarts, 1);
    // ractor reports a kill from outside like a stop with reason "killed": a normal exit, so a
    // permanent child is restarted and nothing is recorded as a failure.
    assert_eq!(snap.children[0].last_failure, None);
    assert_ne!(
        nested(&root, "left").await.cell().get_id(),
        left.cell().get_id()
    );
    root.stop().await;
}

#[tokio::test]
async fn snapshot_describes_three_levels_and_serialises() {
    let (tx, mut rx) = events();
    let (root, _join) = Supervisor::spawn(Some("nested-snapshot-root".into()), tree(&tx))
        .await
        .unwrap();
    take(&mut rx, 3).await;
    let snap = root.snapshot().await.unwrap();
    assert_eq!(snap.name, "nested-snapshot-root");
    assert_eq!(snap.children[0].kind, ChildKind::Supervisor);
    let right = snap.children[1].supervisor.as_ref().unwrap();
    assert_eq!(right.name, "right");
    assert_eq!(right.children[0].status, ChildStatus::Running);
    assert_eq!(right.children[0].kind, ChildKind::Worker);

    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["strategy"], "one_for_one");
    assert_eq!(json["children"][1]["supervisor"]["strategy"], "one_for_all");
    assert_eq!(
        json["children"][1]["supervisor"]["children"][0]["status"]["state"],
        "running"
    );
    assert!(json["children"][0]["supervisor"]["children"][0]["actor_id"].is_string());
    let back: bulwark_supervisors::SupervisorSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, snap);
    root.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unresponsive_nested_supervisor_does_not_block_the_snapshot() {
    // A nested supervisor stuck stopping a child that hangs (infinite shutdown) cannot answer.
    let (tx, mut rx) = events();
    let stuck = SupervisorSpec::new(Strategy::OneForOne)
        .with_child(worker("h", &tx).with_shutdown(bulwark_supervisors::Shutdown::Infinity));
    let spec =
        SupervisorSpec::new(Strategy::OneForOne).with_child(ChildSpec::supervisor("stuck", stuck));
    let (root, _join) = Supervisor::spawn(None, spec).await.unwrap();
    take(&mut rx, 1).await;
    let stuck = nested(&root, "stuck").await;
    send(&stuck, "h", Cmd::Hang).await;
    stuck.terminate_child("h").await.unwrap_err(); // times out: the supervisor is busy for ever

    let snap = root
        .clone()
        .with_call_timeout(Duration::from_secs(2))
        .snapshot()
        .await
        .unwrap();
    assert!(snap.children[0].supervisor.is_none());
    assert!(
        snap.children[0]
            .supervisor_error
            .as_deref()
            .unwrap()
            .contains("did not answer")
    );
    stuck.cell().kill();
    root.cell().kill();
}
