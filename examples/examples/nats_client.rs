//! A Rust client of Bulwark over NATS: a sentiment request in JSON and in postcard, an
//! embeddings request, and a sentiment job over JetStream with its result.
//!
//! Run with (a NATS server with JetStream and a node serving it):
//!
//! ```sh
//! nats-server -js -a 127.0.0.1 -p 4222 &
//! cargo run --release -- serve --nats nats://127.0.0.1:4222 &
//! cargo run -p bulwark-examples --example nats_client -- nats://127.0.0.1:4222
//! ```
//!
//! Expected output (IDs and scores vary):
//!
//! ```text
//! json     {"label":"positive","score":0.84,"source":"rule_based","degraded":true,"correlation_id":"example-1"}
//! postcard positive 0.84 (correlation example-2)
//! embed    1 vector(s) of 256 dimensions from local-hashing-256
//! job      0193…: "done" ["positive", "neutral"]
//! ```
//!
//! A request that times out is sent again with the same `Correlation-Id` (a node may have died
//! with it; the queue group sends the retry to another node). Error replies carry a `Status`
//! header and the standard error JSON.

use std::time::Duration;

use async_nats::{Client, HeaderMap, Message};
use bulwark_services::embeddings::routes::{EmbeddingsRequest, EmbeddingsResponse};
use bulwark_services::nats::jobs::{JobMessage, STREAM, SUBMIT, results_subject};
use bulwark_services::sentiment::routes::{SentimentRequest, SentimentResponse};
use bytes::Bytes;
use futures::StreamExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Sends `payload` to `subject`, again on a timeout (same correlation ID), at most 5 times.
async fn request(
    client: &Client,
    subject: &str,
    correlation_id: &str,
    content_type: &str,
    payload: Bytes,
) -> Result<Message, Error> {
    let mut headers = HeaderMap::new();
    headers.insert("Correlation-Id", correlation_id);
    headers.insert("Content-Type", content_type);
    let mut last = None;
    for _ in 0..5 {
        let request = async_nats::Request::new()
            .headers(headers.clone())
            .payload(payload.clone())
            .timeout(Some(Duration::from_secs(5)));
        match client.send_request(subject.to_owned(), request).await {
            Ok(reply) => return check(reply),
            Err(error) => {
                // No node subscribed yet (still starting): give it a moment.
                if error.kind() == async_nats::RequestErrorKind::NoResponders {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                last = Some(error);
            }
        }
    }
    Err(last.map_or_else(|| "no try".into(), Into::into))
}

/// An error reply (a `Status` header) becomes an error holding its standard JSON body.
fn check(reply: Message) -> Result<Message, Error> {
    let status = reply.headers.as_ref().and_then(|h| h.get("Status"));
    match status {
        Some(status) => Err(format!(
            "{}: {}",
            status.as_str(),
            String::from_utf8_lossy(&reply.payload)
        )
        .into()),
        None => Ok(reply),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned());
    let client = async_nats::connect(&url).await?;

    let body = serde_json::to_vec(&serde_json::json!({"text": "The food was GREAT!!"}))?;
    let reply = request(
        &client,
        "bulwark.v1.sentiment",
        "example-1",
        "application/json",
        body.into(),
    )
    .await?;
    println!("json     {}", String::from_utf8_lossy(&reply.payload));

    let body = postcard::to_stdvec(&SentimentRequest {
        text: "The food was GREAT!!".into(),
    })?;
    let reply = request(
        &client,
        "bulwark.v1.sentiment",
        "example-2",
        "application/postcard",
        body.into(),
    )
    .await?;
    let answer: SentimentResponse = postcard::from_bytes(&reply.payload)?;
    println!(
        "postcard {} {:.2} (correlation {})",
        answer.label.as_str(),
        answer.score,
        answer.correlation_id
    );

    let body = postcard::to_stdvec(&EmbeddingsRequest {
        input: vec!["hello world".into()],
    })?;
    let reply = request(
        &client,
        "bulwark.v1.embeddings",
        "example-3",
        "application/postcard",
        body.into(),
    )
    .await?;
    let answer: EmbeddingsResponse = postcard::from_bytes(&reply.payload)?;
    println!(
        "embed    {} vector(s) of {} dimensions from {}",
        answer.data.len(),
        answer.data.first().map_or(0, |e| e.embedding.len()),
        answer.model
    );

    // A job: listen for its result first, then publish it to the work queue. The job id is
    // also the message id, so a publish retried after a lost ack is stored once.
    let job_id = uuid::Uuid::now_v7().to_string();
    let mut results = client.subscribe(results_subject(&job_id)).await?;
    let job = JobMessage {
        job_id: job_id.clone(),
        texts: vec!["I love it".into(), "Never again".into()],
    };
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", job_id.as_str());
    let js = async_nats::jetstream::new(client.clone());
    // The nodes create the work-queue stream when they connect.
    for _ in 0..10 {
        if js.get_stream(STREAM).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    js.publish_with_headers(SUBMIT, headers, serde_json::to_vec(&job)?.into())
        .await?
        .await?;
    let result = tokio::time::timeout(Duration::from_secs(30), results.next())
        .await?
        .ok_or("subscription closed")?;
    let view: serde_json::Value = serde_json::from_slice(&check(result)?.payload)?;
    let labels: Vec<&str> = view["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["label"].as_str()).collect())
        .unwrap_or_default();
    println!("job      {job_id}: {} {labels:?}", view["status"]);
    Ok(())
}
