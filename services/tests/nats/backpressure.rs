//! A full node: a request beyond its bulkhead is answered 503 at once (never silence), and no
//! job is taken while it is full.

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::{NatsServer, Node, bounded, client, jobs_consumer, publish_job, request_once};

/// An upstream that accepts connections, reports each, and never answers.
async fn hanging_upstream() -> (std::net::SocketAddr, mpsc::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted.try_send(());
        }
    });
    (addr, rx)
}

fn sentiment(id: &str, text: &str) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert("Correlation-Id", id);
    let body = serde_json::json!({ "text": text });
    (headers, Bytes::from(serde_json::to_vec(&body).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_answers_503_at_once_and_takes_no_job() {
    bounded(Duration::from_secs(60), async {
        let server = NatsServer::start();
        let (upstream, mut accepted) = hanging_upstream().await;
        let config = format!(
            "max_in_flight = 1\n\n[[sentiment.endpoints]]\n\
             url = \"http://{upstream}/models/sentiment\"\ntimeout_ms = 1500\n"
        );
        let _node = Node::start("full", &server.url(), &config).await;
        let client = client(&server.url()).await;
        jobs_consumer(&client).await;

        // The one place is taken by a request the upstream holds (until its 1.5 s timeout,
        // then the rule-based fallback answers).
        let held = {
            let client = client.clone();
            let (headers, payload) = sentiment("held", "hold the only place");
            tokio::spawn(async move {
                // Sent until a node is subscribed ("no responders" before), every 20 ms.
                let mut poll = tokio::time::interval(Duration::from_millis(20));
                loop {
                    poll.tick().await;
                    let sent = request_once(
                        &client,
                        "bulwark.v1.sentiment",
                        headers.clone(),
                        payload.clone(),
                        Duration::from_secs(20),
                    )
                    .await;
                    if let Ok(reply) = sent {
                        return reply;
                    }
                }
            })
        };
        accepted.recv().await.unwrap();

        let (headers, payload) = sentiment("refused", "no place for me");
        let reply = request_once(
            &client,
            "bulwark.v1.sentiment",
            headers,
            payload,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 503);
        assert_eq!(reply.correlation_id, "refused");
        let body = reply.json();
        assert_eq!(body["error_code"], "DEPENDENCY_ERROR");
        assert_eq!(body["details"]["bulkhead"], "nats.requests");

        // A job queued while the node is full is processed only once the place is free.
        let job_id = uuid::Uuid::now_v7().to_string();
        let mut results = client
            .subscribe(format!("bulwark.v1.jobs.results.{job_id}"))
            .await
            .unwrap();
        publish_job(&client, &job_id, &["queued while full, still lovely"]).await;
        let mut held = held;
        tokio::select! {
            biased;
            reply = &mut held => {
                let reply = reply.unwrap();
                assert_eq!((reply.status, reply.json()["degraded"].clone()), (200, Value::Bool(true)));
            }
            _ = results.next() => panic!("a job was processed while the node was full"),
        }
        let message = results.next().await.unwrap();
        let view: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(view["status"], "done");
    })
    .await;
}
