//! The simulated upstreams over real HTTP: each API's shape, streaming, and every fault.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bulwark_services::simulator::{Faults, Simulator, SimulatorConfig};
use serde_json::{Value, json};

async fn start() -> Simulator {
    Simulator::start(SimulatorConfig {
        api_key: Some("sk-test".to_owned()),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    // reqwest is built without a bundled crypto provider: install ring before any client.
    bulwark_runtime::http::install_default_tls();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn post(sim: &Simulator, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth("sk-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn openai_chat_answers_with_choices_and_usage() {
    let sim = start().await;
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "where is my parcel"}]});
    let answer: Value = post(&sim, "/v1/chat/completions", body)
        .await
        .json()
        .await
        .unwrap();
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("where is my parcel"), "{text}");
    assert_eq!(answer["model"], "m");
    assert!(answer["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    sim.stop().await;
}

#[tokio::test]
async fn openai_chat_streams_server_sent_events() {
    let sim = start().await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}], "stream": true});
    let response = post(&sim, "/v1/chat/completions", body).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let content: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        content.starts_with("Thank you for reaching out."),
        "{content}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn anthropic_messages_answer_and_stream() {
    let sim = start().await;
    let body = json!({"model": "claude", "max_tokens": 100, "messages": [{"role": "user", "content": "refund please"}]});
    let answer: Value = post(&sim, "/v1/messages", body.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["type"], "message");
    assert!(
        answer["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("refund please")
    );
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let text = post(&sim, "/v1/messages", streamed)
        .await
        .text()
        .await
        .unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"content_block_delta"));
    sim.stop().await;
}

#[tokio::test]
async fn inference_and_embeddings() {
    let sim = start().await;
    let labels: Value = post(
        &sim,
        "/models/sst2",
        json!({"inputs": ["I love it", "awful and broken"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(labels[0][0]["label"], "POSITIVE");
    assert_eq!(labels[1][0]["label"], "NEGATIVE");
    let embedded: Value = post(&sim, "/v1/embeddings", json!({"input": ["a", "b"]}))
        .await
        .json()
        .await
        .unwrap();
    let v: Vec<f64> = serde_json::from_value(embedded["data"][1]["embedding"].clone()).unwrap();
    assert_eq!(v.len(), 64);
    let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    sim.stop().await;
}

#[tokio::test]
async fn faults_errors_credentials_malformed_bodies_and_hangs() {
    let sim = start().await;
    let chat = json!({"messages": [{"role": "user", "content": "x"}]});
    sim.faults()
        .set(Faults {
            error_rate: 1.0,
            error_status: 503,
            retry_after_secs: Some(2),
            ..Faults::default()
        })
        .unwrap();
    let response = post(&sim, "/v1/chat/completions", chat.clone()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
    let anthropic = post(&sim, "/v1/messages", chat.clone()).await;
    assert_eq!(anthropic.status(), 503);
    assert_eq!(anthropic.json::<Value>().await.unwrap()["type"], "error");

    sim.faults()
        .set(Faults {
            unauthorized: true,
            ..Faults::default()
        })
        .unwrap();
    assert_eq!(
        post(&sim, "/v1/chat/completions", chat.clone())
            .await
            .status(),
        401
    );

    sim.faults()
        .set(Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let text = post(&sim, "/v1/chat/completions", chat.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    sim.faults()
        .set(Faults {
            hang_rate: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let hung = client()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .bearer_auth("sk-test")
        .timeout(Duration::from_millis(200))
        .json(&chat)
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    sim.faults().heal();
    assert_eq!(post(&sim, "/v1/chat/completions", chat).await.status(), 200);
    assert!(sim.hits() >= 6);
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_faults_are_settable_over_http() {
    let sim = start().await;
    let wrong = client()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .bearer_auth("sk-wrong")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let url = format!("{}/_simulator/faults", sim.base_url());
    let bad = client()
        .put(&url)
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let ok = client()
        .put(&url)
        .json(&json!({"error_rate": 0.5, "latency": "20ms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(sim.faults().get().latency, Duration::from_millis(20));
    sim.stop().await;
}
