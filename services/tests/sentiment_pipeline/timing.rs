//! Deadlines and recovery on paused time: a hanging endpoint never delays the answer past the
//! request's deadline, and an ejected endpoint rejoins after the breaker's reset timeout.

use std::time::Duration;

use bulwark_runtime::breaker::State as Circuit;
use bulwark_runtime::prelude::CallContext;
use bulwark_services::embeddings::EmbeddingsConfig;
use bulwark_services::sentiment::Source;
use bulwark_services::simulator::Faults;
use serde_json::json;
use tokio::time::Instant;

use crate::support::{RESET, config, endpoint, failing, pipeline, post, simulator};

fn hanging() -> Faults {
    Faults {
        hang_rate: 1.0,
        ..Faults::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_endpoint_costs_its_timeout_then_the_other_answers() {
    let stuck = simulator(hanging()).await;
    let fine = simulator(Faults::default()).await;
    let p = pipeline(
        config(vec![
            endpoint(&stuck, "stuck").timeout(Duration::from_millis(300)),
            endpoint(&fine, "fine").tier(1),
        ]),
        EmbeddingsConfig::default(),
    )
    .await;
    let start = Instant::now();
    let (status, _, body) = post(
        &p.app,
        "/v1/sentiment",
        &json!({"text": "thanks, great help"}),
        &[("x-request-timeout", "2000")],
    )
    .await;
    let took = start.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "model", "{body}");
    assert_eq!(body["label"], "positive");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    p.runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_every_endpoint_hanging_the_fallback_answers_within_the_deadline() {
    let a = simulator(hanging()).await;
    let b = simulator(hanging()).await;
    let p = pipeline(
        config(vec![
            endpoint(&a, "a").timeout(Duration::from_secs(60)),
            endpoint(&b, "b").timeout(Duration::from_secs(60)),
        ]),
        EmbeddingsConfig::default(),
    )
    .await;
    for deadline_ms in [1_000u64, 150] {
        let start = Instant::now();
        let (status, _, body) = post(
            &p.app,
            "/v1/sentiment",
            &json!({"text": "this is awful"}),
            &[("x-request-timeout", &deadline_ms.to_string())],
        )
        .await;
        let took = start.elapsed();
        assert_eq!(status, 200, "never a 5xx: {body}");
        assert_eq!(body["source"], "rule_based");
        assert_eq!(body["degraded"], true);
        assert_eq!(body["label"], "negative");
        assert!(took < Duration::from_millis(deadline_ms), "{took:?}");
    }
    // Less time than the fallback reserve: the model is not even asked.
    let hits = a.hits() + b.hits();
    let (status, _, body) = post(
        &p.app,
        "/v1/sentiment",
        &json!({"text": "fine"}),
        &[("x-request-timeout", "50")],
    )
    .await;
    assert_eq!((status, &body["source"]), (200, &json!("rule_based")));
    assert_eq!(a.hits() + b.hits(), hits);
    p.runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_ejected_endpoint_rejoins_after_the_reset_timeout() {
    let flaky = simulator(failing(500)).await;
    let steady = simulator(Faults::default()).await;
    let p = pipeline(
        config(vec![endpoint(&flaky, "flaky"), endpoint(&steady, "steady")]),
        EmbeddingsConfig::default(),
    )
    .await;
    let pool = p.sentiment.pool().unwrap().clone();
    let flaky_endpoint = pool.endpoint("flaky").unwrap().clone();
    let ctx = CallContext::untracked;
    let mut n = 0;
    while flaky_endpoint.state() != Circuit::Open {
        n += 1;
        assert!(n < 100, "the breaker never opened");
        let answer = p
            .sentiment
            .analyze(&ctx(), &format!("good #{n}"))
            .await
            .unwrap();
        assert_eq!(answer.source, Source::Model);
        p.flush().await;
    }
    flaky.faults().heal();
    let ejected_at = flaky.hits();

    // Just before the reset timeout: still ejected.
    tokio::time::advance(RESET - Duration::from_secs(1)).await;
    for i in 0..10 {
        p.sentiment
            .analyze(&ctx(), &format!("nice #{i}"))
            .await
            .unwrap();
        p.flush().await;
    }
    assert_eq!(flaky.hits(), ejected_at, "no traffic while open");

    // After it: a trial call succeeds and the endpoint is back in the rotation.
    tokio::time::advance(Duration::from_secs(2)).await;
    let mut calls = 0;
    while flaky_endpoint.state() != Circuit::Closed {
        calls += 1;
        assert!(
            calls < 200,
            "the endpoint never closed: {:?}",
            flaky_endpoint.state()
        );
        p.sentiment
            .analyze(&ctx(), &format!("great #{calls}"))
            .await
            .unwrap();
        p.flush().await;
    }
    let rejoined_at = flaky.hits();
    assert!(rejoined_at > ejected_at);
    for i in 0..50 {
        let answer = p
            .sentiment
            .analyze(&ctx(), &format!("love #{i}"))
            .await
            .unwrap();
        assert_eq!(answer.source, Source::Model);
    }
    assert!(flaky.hits() - rejoined_at > 5, "back in the rotation");
    p.runtime.shutdown().await;
}
