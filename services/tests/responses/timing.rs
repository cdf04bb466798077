//! Deadlines and hedging on paused time: a hanging provider costs its timeout and the next one
//! answers within the request's deadline; with every provider hanging the template answers
//! before the deadline; a slow primary is hedged to the secondary.

use std::time::Duration;

use bulwark_services::responses::HedgingConfig;
use bulwark_services::simulator::Faults;
use serde_json::json;
use tokio::time::Instant;

use crate::support::{anthropic, config, openai, pipeline, post, simulator};

fn hanging() -> Faults {
    Faults {
        hang_rate: 1.0,
        ..Faults::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_primary_costs_its_timeout_then_the_secondary_answers_in_time() {
    let stuck = simulator(hanging()).await;
    let fine = simulator(Faults::default()).await;
    let p = pipeline(config(vec![
        openai(&stuck, "llm-primary").timeout(Duration::from_millis(300)),
        anthropic(&fine, "llm-secondary"),
    ]))
    .await;
    let start = Instant::now();
    let (status, _, body) = post(
        &p.app,
        &json!({"message": "my bill is wrong"}),
        &[("x-request-timeout", "2000")],
    )
    .await;
    let took = start.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "llm-secondary", "{body}");
    assert_eq!(body["intent"], "billing");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    p.runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_every_provider_hanging_the_template_answers_before_the_deadline() {
    let a = simulator(hanging()).await;
    let b = simulator(hanging()).await;
    let p = pipeline(config(vec![
        openai(&a, "a").timeout(Duration::from_secs(60)),
        anthropic(&b, "b").timeout(Duration::from_secs(60)),
    ]))
    .await;
    for stream in [false, true] {
        let start = Instant::now();
        let (status, _, body) = crate::support::post_raw(
            &p.app,
            &json!({"message": "hello?", "stream": stream}),
            &[("x-request-timeout", "1000")],
        )
        .await;
        let took = start.elapsed();
        assert_eq!(status, 200, "never a 5xx");
        let answer = if stream {
            let events = crate::support::events(&body);
            assert_eq!(events.len(), 1, "the template is one event: {events:?}");
            assert_eq!(events[0].event, "done");
            events[0].data.clone()
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        assert_eq!(answer["provider"], "template", "{answer}");
        assert_eq!(answer["degraded"], true);
        assert!(took < Duration::from_millis(1000), "{took:?}");
    }
    p.runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_primary_is_hedged_to_the_secondary() {
    let slow = simulator(Faults {
        latency: Duration::from_secs(3),
        ..Faults::default()
    })
    .await;
    let fast = simulator(Faults::default()).await;
    let mut settings = config(vec![openai(&slow, "slow"), openai(&fast, "fast")]);
    settings.hedging = Some(HedgingConfig {
        delay: Some(Duration::from_millis(100)),
        max_share: 1.0,
    });
    let p = pipeline(settings).await;
    let start = Instant::now();
    let (status, _, body) = post(&p.app, &json!({"message": "quick question"}), &[]).await;
    let took = start.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "fast", "{body}");
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let stats = p.responses.pool().unwrap().hedge_stats().unwrap();
    assert_eq!((stats.hedges, stats.hedge_wins), (1, 1), "{stats:?}");
    assert_eq!((slow.hits(), fast.hits()), (1, 1));
    p.runtime.shutdown().await;
}
