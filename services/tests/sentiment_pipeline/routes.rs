//! The routes over a real socket: answers, the fallback with a 200, every refusal in the
//! standard error format, readiness, and the routes in the OpenAPI document.

use bulwark_services::embeddings::EmbeddingsConfig;
use bulwark_services::simulator::Faults;
use serde_json::{Value, json};

use crate::support::{
    assert_standard, client, config, endpoint, failing, pipeline, serve, simulator,
};

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn answers_carry_the_source_and_the_correlation_id() {
    let sim = simulator(Faults::default()).await;
    let p = pipeline(
        config(vec![endpoint(&sim, "m")]),
        EmbeddingsConfig::default(),
    )
    .await;
    let served = serve(p.app.clone()).await;
    let client = client();

    let response = client
        .post(format!("{}/v1/sentiment", served.base))
        .header("x-correlation-id", "sent-1")
        .json(&json!({"text": "Thanks, that was wonderful"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-correlation-id"], "sent-1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["label"], "positive");
    assert_eq!(body["source"], "model");
    assert_eq!(body["degraded"], false);
    assert_eq!(body["correlation_id"], "sent-1");
    assert!(body["score"].as_f64().unwrap() > 0.5);

    let (status, _, body) = post_json(
        &client,
        &format!("{}/v1/sentiment/batch", served.base),
        &json!({"texts": ["I love it", "terrible and late", "the parcel arrived"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let labels: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["positive", "negative", "neutral"]);
    assert_eq!(body["degraded"], false);
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn with_both_endpoints_down_the_answer_is_a_degraded_200() {
    let a = simulator(failing(500)).await;
    let b = simulator(failing(503)).await;
    let p = pipeline(
        config(vec![endpoint(&a, "a"), endpoint(&b, "b")]),
        EmbeddingsConfig::default(),
    )
    .await;
    let served = serve(p.app.clone()).await;
    let client = client();
    for _ in 0..15 {
        let (status, headers, body) = post_json(
            &client,
            &format!("{}/v1/sentiment", served.base),
            &json!({"text": "The service was horrible"}),
        )
        .await;
        assert_eq!(status, 200, "never a 5xx: {body}");
        assert_eq!(body["source"], "rule_based");
        assert_eq!(body["degraded"], true);
        assert_eq!(body["label"], "negative");
        assert_eq!(
            body["correlation_id"],
            headers["x-correlation-id"].to_str().unwrap()
        );
        p.flush().await;
    }
    // Both circuits open: still ready (the fallback covers the model), but degraded.
    let response = client
        .get(format!("{}/readyz", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    // The fallback answers are counted.
    let metrics = client
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("bulwark_fallbacks_total")
                && line.contains("dependency=\"sentiment.model\"")
                && line.contains("source=\"rule_based\"")),
        "{metrics}"
    );
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn bad_inputs_are_refused_in_the_standard_format_naming_the_field() {
    let p = pipeline(config(Vec::new()), EmbeddingsConfig::default()).await;
    let served = serve(p.app.clone()).await;
    let client = client();
    let long = "a".repeat(10_001);
    let cases = [
        ("/v1/sentiment", json!({"text": "  \n "}), "text"),
        ("/v1/sentiment", json!({"text": long}), "text"),
        ("/v1/sentiment", json!({}), "text"),
        ("/v1/sentiment", json!({"text": 5}), "text"),
        ("/v1/sentiment", json!({"text": "ok", "extra": 1}), "extra"),
        ("/v1/sentiment/batch", json!({"texts": []}), "texts"),
        (
            "/v1/sentiment/batch",
            json!({"texts": ["ok", " "]}),
            "texts[1]",
        ),
        (
            "/v1/sentiment/batch",
            json!({"texts": vec!["x"; 257]}),
            "texts",
        ),
        ("/v1/embeddings", json!({"input": []}), "input"),
        ("/v1/embeddings", json!({"input": ["fine", ""]}), "input[1]"),
    ];
    for (path, body, field) in cases {
        let (status, headers, answer) =
            post_json(&client, &format!("{}{path}", served.base), &body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_standard(status, &headers, &answer, "VALIDATION_ERROR");
        assert!(
            answer["details"].get(field).is_some(),
            "{path}: {field} not named in {answer}"
        );
    }
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn without_endpoints_the_fallbacks_serve_and_readiness_says_so() {
    let p = pipeline(config(Vec::new()), EmbeddingsConfig::default()).await;
    let served = serve(p.app.clone()).await;
    let client = client();
    let (status, _, body) = post_json(
        &client,
        &format!("{}/v1/sentiment", served.base),
        &json!({"text": "I am so happy :)"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&body["label"], &body["source"], &body["degraded"]),
        (&json!("positive"), &json!("rule_based"), &json!(true))
    );
    let response = client
        .get(format!("{}/readyz", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert!(
        body["notes"]["sentiment"]
            .as_str()
            .unwrap()
            .contains("no model endpoint"),
        "{body}"
    );
    let doc: Value = client
        .get(format!("{}/openapi.json", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/v1/sentiment", "/v1/sentiment/batch", "/v1/embeddings"] {
        assert!(doc["paths"][path]["post"].is_object(), "{path} documented");
    }
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn the_product_service_serves_the_configured_model_and_embeddings() {
    let model = simulator(Faults::default()).await;
    let data = tempfile::tempdir().unwrap();
    let mut settings = bulwark_services::config::Config {
        data_dir: data.path().to_owned(),
        ..Default::default()
    };
    settings.server.rate_limit.enabled = false;
    settings.sentiment.endpoints = vec![endpoint(&model, "sim")];
    settings.embeddings.endpoints = vec![bulwark_services::upstream::EndpointConfig::new(format!(
        "{}/v1",
        model.base_url()
    ))];
    settings.validate().unwrap();
    let service = bulwark_services::service::Service::start(&settings)
        .await
        .unwrap();
    let served = serve(service.router.clone()).await;
    let client = client();

    let (status, _, body) = post_json(
        &client,
        &format!("{}/v1/sentiment", served.base),
        &json!({"text": "awful, broken and late"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["label"], &body["source"]),
        (&json!("negative"), &json!("model"))
    );
    let (status, _, body) = post_json(
        &client,
        &format!("{}/v1/embeddings", served.base),
        &json!({"input": ["hello"]}),
    )
    .await;
    assert_eq!((status, &body["degraded"]), (200, &json!(false)), "{body}");

    let status: Value = client
        .get(format!("{}/status", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = status.to_string();
    assert!(text.contains("sentiment.model/sim"), "{text}");
    assert!(text.contains("embeddings/endpoint-0"), "{text}");
    let ready: Value = client
        .get(format!("{}/readyz", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ready["notes"].get("sentiment").is_none(), "{ready}");
    assert!(ready["notes"].get("embeddings").is_none(), "{ready}");
    service.shutdown().await;
}
