//! `POST /v1/embeddings` with and without endpoints.

use bulwark_services::embeddings::EmbeddingsConfig;
use bulwark_services::simulator::{Simulator, SimulatorConfig};
use bulwark_services::upstream::EndpointConfig;
use serde_json::json;

use crate::support::{config, failing, pipeline, post};

fn norm(vector: &serde_json::Value) -> f64 {
    vector
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum::<f64>()
        .sqrt()
}

#[tokio::test]
async fn an_endpoint_answers_and_the_local_embedding_covers_its_outage() {
    let sim = Simulator::start(SimulatorConfig {
        embedding_dimension: 8,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let embeddings = EmbeddingsConfig {
        endpoints: vec![EndpointConfig::new(format!("{}/v1", sim.base_url())).named("sim")],
        model: "embed-small".to_owned(),
        dimension: 32,
        ..EmbeddingsConfig::default()
    };
    let p = pipeline(config(Vec::new()), embeddings).await;
    let input = json!({"input": ["hello world", "good bye"]});

    let (status, _, body) = post(&p.app, "/v1/embeddings", &input, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["degraded"], false);
    assert_eq!(body["model"], "embed-small");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(sim.hits(), 1);

    sim.faults().set(failing(503)).unwrap();
    let (status, _, body) = post(&p.app, "/v1/embeddings", &input, &[]).await;
    assert_eq!(status, 200, "never a 5xx: {body}");
    assert_eq!(body["degraded"], true);
    assert_eq!(body["model"], "local-hashing-32");
    let vector = &body["data"][0]["embedding"];
    assert_eq!(vector.as_array().unwrap().len(), 32);
    assert!((norm(vector) - 1.0).abs() < 1e-4);
    p.runtime.shutdown().await;
}

#[tokio::test]
async fn without_endpoints_the_local_embedding_answers_deterministically() {
    let p = pipeline(config(Vec::new()), EmbeddingsConfig::default()).await;
    let input = json!({"input": ["The parcel arrived late"]});
    let (status, _, first) = post(&p.app, "/v1/embeddings", &input, &[]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["degraded"], true);
    assert_eq!(first["model"], "local-hashing-256");
    let (_, _, second) = post(&p.app, "/v1/embeddings", &input, &[]).await;
    assert_eq!(first["data"], second["data"]);
    assert!((norm(&first["data"][0]["embedding"]) - 1.0).abs() < 1e-4);
    p.runtime.shutdown().await;
}
