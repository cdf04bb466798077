//! Each strategy with panicking and erroring children.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bulwark_supervisors::{Strategy, Supervisor, SupervisorSpec};
use common::*;

async fn crash_b(strategy: Strategy, cmd: Cmd) -> (Vec<String>, Vec<(String, u64)>) {
    let (tx, mut rx) = events();
    let spec = SupervisorSpec::new(strategy)
        .with_intensity(10, Duration::from_secs(5))
        .with_child(worker("a", &tx))
        .with_child(worker("b", &tx))
        .with_child(worker("c", &tx));
    let (sup, _join) = Supervisor::spawn(None, spec).await.unwrap();
    assert_eq!(started_ids(&take(&mut rx, 3).await), ["+a", "+b", "+c"]);
    let a_before = sup.child("a").await.unwrap().unwrap().get_id();

    send(&sup, "b", cmd).await;
    let expected = match strategy {
        Strategy::OneForOne => 1,
        Strategy::OneForAll => 5,
        Strategy::RestForOne => 3,
    };
    let seen = started_ids(&take(&mut rx, expected).await);
    let restarts = restarts(&sup).await;
    if strategy != Strategy::OneForAll {
        assert_eq!(sup.child("a").await.unwrap().unwrap().get_id(), a_before);
    }
    assert_eq!(sup.count_children().await.unwrap().active, 3);
    sup.stop().await;
    (seen, restarts)
}

fn r(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(id, n)| ((*id).to_owned(), *n)).collect()
}

#[tokio::test]
async fn one_for_one_restarts_only_the_failed_child() {
    for cmd in [Cmd::Panic, Cmd::Fail] {
        let (seen, restarts) = crash_b(Strategy::OneForOne, cmd).await;
        assert_eq!(seen, ["+b"]);
        assert_eq!(restarts, r(&[("a", 0), ("b", 1), ("c", 0)]));
    }
}

#[tokio::test]
async fn one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order() {
    for cmd in [Cmd::Panic, Cmd::Fail] {
        let (seen, restarts) = crash_b(Strategy::OneForAll, cmd).await;
        assert_eq!(seen, ["-c", "-a", "+a", "+b", "+c"]);
        assert_eq!(restarts, r(&[("a", 1), ("b", 1), ("c", 1)]));
    }
}

#[tokio::test]
async fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    for cmd in [Cmd::Panic, Cmd::Fail] {
        let (seen, restarts) = crash_b(Strategy::RestForOne, cmd).await;
        assert_eq!(seen, ["-c", "+b", "+c"]);
        assert_eq!(restarts, r(&[("a", 0), ("b", 1), ("c", 1)]));
    }
}
