//! `bulwark serve` with two simulated providers configured as `[[response.providers]]`
//! (`llm-primary` OpenAI-compatible, `llm-secondary` Anthropic), as the chaos runner runs it.

use bulwark_services::simulator::Faults;
use serde_json::{Value, json};

use crate::binary;
use crate::support::{client, failing, simulator};

#[tokio::test]
async fn serve_answers_from_the_configured_providers_and_fails_over() {
    let primary = simulator(Faults::default()).await;
    let secondary = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bulwark.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server.rate_limit]
enabled = false

[[response.providers]]
name = "llm-primary"
kind = "openai"
base_url = "{}/v1"
model = "gpt-sim"
timeout_ms = 2000

[[response.providers]]
name = "llm-secondary"
kind = "anthropic"
base_url = "{}/v1"
model = "claude-sim"
timeout_ms = 2000
"#,
            primary.base_url(),
            secondary.base_url()
        ),
    )
    .unwrap();
    let (child, base) = binary::serve(
        &["--config".as_ref(), config.as_os_str()],
        &dir.path().join("data"),
    )
    .await;
    let client = client();
    let ask = |message: &'static str| {
        client
            .post(format!("{base}/v1/responses"))
            .json(&json!({"message": message}))
            .send()
    };
    let body: Value = ask("Where is my refund?")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["provider"], "llm-primary", "{body}");
    assert_eq!(body["intent"], "refund");

    primary.faults().set(failing(503)).unwrap();
    let body: Value = ask("Where is my parcel?")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["provider"], "llm-secondary", "{body}");

    secondary.faults().set(failing(529)).unwrap();
    let response = ask("Anyone?").await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["provider"], &body["degraded"]),
        (&json!("template"), &json!(true))
    );

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"bulwark_llm_tokens_total{provider="llm-primary",kind="completion"}"#),
        "{metrics}"
    );
    drop(child);
}
