//! Failover across providers in order: errors and malformed bodies move the request to the next
//! provider; with every provider down the template answers (200, degraded); a refused key skips
//! its provider, opens no breaker and shows in readiness; an open breaker skips at once.

use bulwark_runtime::breaker::State as Circuit;
use bulwark_services::simulator::Faults;
use serde_json::json;

use crate::support::{
    anthropic, config, failing, get, keyed_simulator, openai, pipeline, post, simulator,
};

#[tokio::test]
async fn a_primary_answering_503_hands_over_to_the_secondary() {
    let primary = simulator(failing(503)).await;
    let secondary = simulator(Faults::default()).await;
    let p = pipeline(config(vec![
        openai(&primary, "llm-primary"),
        anthropic(&secondary, "llm-secondary"),
    ]))
    .await;
    let (status, headers, body) = post(
        &p.app,
        &json!({"message": "Where is my parcel? It has not arrived."}),
        &[("x-correlation-id", "fo-1")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "llm-secondary", "{body}");
    assert_eq!(body["degraded"], false);
    assert_eq!(body["cached"], false);
    assert_eq!(body["intent"], "shipping");
    assert_eq!(body["correlation_id"], "fo-1");
    assert_eq!(headers["x-correlation-id"], "fo-1");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Where is my parcel?"),
        "the simulator echoes the message: {body}"
    );
    assert!(body["sentiment"]["score"].is_number());
    assert_eq!((primary.hits(), secondary.hits()), (1, 1));
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_malformed_success_body_hands_over_to_the_next_provider() {
    for kind in ["openai", "anthropic"] {
        let broken = simulator(Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        })
        .await;
        let fine = simulator(Faults::default()).await;
        let first = match kind {
            "openai" => openai(&broken, "broken"),
            _ => anthropic(&broken, "broken"),
        };
        let p = pipeline(config(vec![first, openai(&fine, "fine")])).await;
        let (status, _, body) = post(&p.app, &json!({"message": "hello there"}), &[]).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(body["provider"], "fine", "{kind}: {body}");
        assert_eq!(broken.hits(), 1, "{kind}");
        p.runtime.shutdown().await;
    }
}

#[tokio::test]
async fn with_every_provider_down_the_template_answers_200_degraded() {
    let a = simulator(failing(500)).await;
    let b = simulator(failing(529)).await;
    let p = pipeline(config(vec![openai(&a, "a"), anthropic(&b, "b")])).await;
    let (status, _, body) = post(
        &p.app,
        &json!({"message": "This is terrible, I want a refund now", "customer_id": "c-7"}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "template");
    assert_eq!(body["degraded"], true);
    assert_eq!(body["intent"], "refund");
    assert_eq!(body["sentiment"]["label"], "negative");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("Hi c-7, I'm sorry"), "{text}");
    assert!(a.hits() >= 1 && b.hits() >= 1);
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn without_providers_the_template_answers_and_readiness_says_why() {
    let p = pipeline(config(Vec::new())).await;
    let (status, _, body) = post(
        &p.app,
        &json!({"message": "Can I change my password?"}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["provider"], &body["degraded"], &body["intent"]),
        (&json!("template"), &json!(true), &json!("account"))
    );
    assert!(body["text"].as_str().unwrap().starts_with("Hi there,"));
    let (status, ready) = get(&p.app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert!(
        ready["notes"]["responses"]
            .as_str()
            .unwrap()
            .contains("no provider configured"),
        "{ready}"
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn a_refused_key_skips_the_provider_opens_no_breaker_and_shows_in_readiness() {
    // A variable every process has stands for the key (tests may not set variables); the
    // simulator wants another.
    let var = "PATH";
    let wrong_key = std::env::var(var).unwrap();
    let refusing = keyed_simulator(Faults::default(), Some("sk-right")).await;
    let fine = simulator(Faults::default()).await;
    let p = pipeline(config(vec![
        openai(&refusing, "llm-primary").api_key_env(var),
        anthropic(&fine, "llm-secondary"),
    ]))
    .await;
    for i in 0..12 {
        let (status, _, body) =
            post(&p.app, &json!({"message": format!("question #{i}")}), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["provider"], "llm-secondary", "{body}");
    }
    p.flush().await;
    let pool = p.responses.pool().unwrap();
    assert_eq!(
        pool.endpoint("llm-primary").unwrap().state(),
        Circuit::Closed
    );
    assert_eq!(
        refusing.hits(),
        12,
        "unauthorized is not a reason to stop asking"
    );
    let (status, ready) = get(&p.app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    let entry = ready["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "responses.providers/llm-primary")
        .unwrap_or_else(|| panic!("the refusing provider is named: {ready}"));
    assert_eq!(entry["ready"], false, "{ready}");
    assert_eq!(entry["state"], "closed", "{ready}");
    assert!(
        ready["notes"]["responses"]
            .as_str()
            .unwrap()
            .ends_with("skipped: llm-primary"),
        "{ready}"
    );
    let (_, status_page) = get(&p.app, "/status").await;
    assert!(!status_page.to_string().contains(&wrong_key));
    assert!(!format!("{:?}", p.responses).contains(&wrong_key));
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn an_open_breaker_skips_its_provider_at_once() {
    let broken = simulator(failing(500)).await;
    let fine = simulator(Faults::default()).await;
    let p = pipeline(config(vec![
        openai(&broken, "broken"),
        openai(&fine, "fine"),
    ]))
    .await;
    let pool = p.responses.pool().unwrap().clone();
    let mut n = 0;
    while pool.endpoint("broken").unwrap().state() != Circuit::Open {
        n += 1;
        assert!(n < 50, "the breaker never opened");
        let (_, _, body) = post(&p.app, &json!({"message": format!("hi #{n}")}), &[]).await;
        assert_eq!(body["provider"], "fine", "{body}");
        p.flush().await;
    }
    let at = broken.hits();
    for i in 0..10 {
        let (_, _, body) = post(&p.app, &json!({"message": format!("again #{i}")}), &[]).await;
        assert_eq!(body["provider"], "fine", "{body}");
    }
    assert_eq!(broken.hits(), at, "no call reaches an open circuit");
    p.runtime.shutdown().await;
}
