//! Server-sent events: both APIs' streams relayed intact, failover before the first token, an
//! error event in the standard shape when a stream breaks off, the template as one event.

use bulwark_services::simulator::Faults;
use serde_json::{Value, json};

use crate::support::{
    Sse, anthropic, config, events, failing, openai, pipeline, post, post_raw, simulator,
};

/// The deltas' text and the final event of a streamed answer to `message`.
async fn stream(app: &axum::Router, message: &str) -> (Vec<Sse>, String, Sse) {
    let (status, headers, body) = post_raw(
        app,
        &json!({"message": message, "stream": true}),
        &[("x-correlation-id", "stream-1")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let events = events(&body);
    let text: String = events
        .iter()
        .filter(|e| e.event == "delta")
        .map(|e| e.data["text"].as_str().unwrap())
        .collect();
    let last = events.last().unwrap().clone();
    (events, text, last)
}

#[tokio::test]
async fn both_apis_streams_are_relayed_intact() {
    let sim = simulator(Faults::default()).await;
    for provider in [openai(&sim, "o"), anthropic(&sim, "a")] {
        let name = provider.name.clone();
        let p = pipeline(config(vec![provider])).await;
        let message = "Could you tell me when my package ships?";
        let (_, _, whole) = post(&p.app, &json!({"message": message}), &[]).await;
        let (events, text, last) = stream(&p.app, message).await;
        assert!(events.len() > 3, "{name}: several deltas: {events:?}");
        assert_eq!(text, whole["text"].as_str().unwrap(), "{name}");
        assert_eq!(last.event, "done", "{name}");
        assert_eq!(last.data["text"], Value::from(text), "{name}");
        assert_eq!(last.data["provider"], Value::from(name.as_str()));
        assert_eq!(last.data["degraded"], false);
        assert_eq!(last.data["intent"], "shipping");
        assert_eq!(last.data["correlation_id"], "stream-1");
        p.runtime.shutdown().await;
    }
}

#[tokio::test]
async fn a_provider_failing_before_its_first_token_fails_over() {
    for (name, faults) in [
        ("503", failing(503)),
        (
            "401",
            Faults {
                unauthorized: true,
                ..Faults::default()
            },
        ),
    ] {
        let broken = simulator(faults).await;
        let fine = simulator(Faults::default()).await;
        let p = pipeline(config(vec![
            openai(&broken, "llm-primary"),
            anthropic(&fine, "llm-secondary"),
        ]))
        .await;
        let (events, text, last) = stream(&p.app, "hello, anyone there?").await;
        assert_eq!(last.event, "done", "{name}: {events:?}");
        assert_eq!(last.data["provider"], "llm-secondary", "{name}");
        assert!(text.contains("hello, anyone there?"), "{name}: {text}");
        assert_eq!(broken.hits(), 1, "{name}");
        p.runtime.shutdown().await;
    }
}

#[tokio::test]
async fn a_stream_broken_off_mid_way_ends_with_a_standard_error_event() {
    let sim = simulator(Faults {
        stream_cut_rate: 1.0,
        ..Faults::default()
    })
    .await;
    for provider in [openai(&sim, "o"), anthropic(&sim, "a")] {
        let name = provider.name.clone();
        let p = pipeline(config(vec![provider])).await;
        let (events, text, last) = stream(&p.app, "tell me a story").await;
        assert!(!text.is_empty(), "{name}: the first piece was relayed");
        assert_eq!(last.event, "error", "{name}: {events:?}");
        assert_eq!(last.data["error"], true);
        assert_eq!(last.data["status_code"], 502);
        assert_eq!(last.data["error_code"], "DEPENDENCY_ERROR");
        assert_eq!(last.data["correlation_id"], "stream-1");
        assert_eq!(last.data["details"]["provider"], Value::from(name.as_str()));
        assert!(last.data["timestamp"].is_string());
        p.runtime.shutdown().await;
    }
}

#[tokio::test]
async fn a_degraded_stream_is_the_template_as_one_event() {
    let down = simulator(failing(500)).await;
    let p = pipeline(config(vec![openai(&down, "down")])).await;
    let (events, _, last) = stream(&p.app, "my account is locked").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(last.event, "done");
    assert_eq!(last.data["provider"], "template");
    assert_eq!(last.data["degraded"], true);
    assert_eq!(last.data["intent"], "account");
    p.runtime.shutdown().await;
}
