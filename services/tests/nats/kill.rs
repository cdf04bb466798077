//! A node SIGKILLed while it works: during a stream of 1,000 requests and jobs (every request
//! answered, clients retrying on a timeout with the same correlation ID; every job finished,
//! once as the client counts), and while it holds jobs (JetStream delivers them to another
//! node once their ack wait passes).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::support::{
    NatsServer, Node, bounded, client, jobs_consumer, publish_job, request, wait_serving,
};

const REQUESTS: usize = 1_000;
const JOBS: usize = 100;
/// Replies seen before the kill.
const KILL_AFTER: usize = 300;

/// Collects job results until every id in `ids` has one; answers results per id.
async fn collect_results(
    results: &mut async_nats::Subscriber,
    ids: &[String],
) -> HashMap<String, Vec<(String, Value)>> {
    let mut seen: HashMap<String, Vec<(String, Value)>> = HashMap::new();
    while seen.len() < ids.len() {
        let message = results.next().await.unwrap();
        let view: Value = serde_json::from_slice(&message.payload).unwrap();
        let node = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Bulwark-Node"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let id = view["job_id"].as_str().unwrap().to_owned();
        seen.entry(id).or_default().push((node, view));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_stream_loses_no_request_and_no_job() {
    bounded(Duration::from_secs(90), async {
        let server = NatsServer::start();
        let mut a = Node::start("a", &server.url(), "").await;
        let _b = Node::start("b", &server.url(), "").await;
        let client = client(&server.url()).await;
        wait_serving(&client, "a").await;
        wait_serving(&client, "b").await;
        jobs_consumer(&client).await;
        let mut results = client.subscribe("bulwark.v1.jobs.results.>").await.unwrap();

        let answered = Arc::new(AtomicUsize::new(0));
        let kill_now = Arc::new(Notify::new());
        let stream = {
            let (client, answered, kill_now) = (client.clone(), answered.clone(), kill_now.clone());
            tokio::spawn(async move {
                futures::stream::iter(0..REQUESTS)
                    .map(|n| {
                        let (client, answered, kill_now) =
                            (client.clone(), answered.clone(), kill_now.clone());
                        async move {
                            let id = format!("kill-{n}");
                            let body = json!({"text": format!("request {n} was fine")});
                            let payload = Bytes::from(serde_json::to_vec(&body).unwrap());
                            let reply = request(
                                &client,
                                "bulwark.v1.sentiment",
                                &id,
                                "application/json",
                                payload,
                                Duration::from_secs(1),
                                10,
                            )
                            .await;
                            if answered.fetch_add(1, Ordering::AcqRel) + 1 == KILL_AFTER {
                                kill_now.notify_one();
                            }
                            (id, reply)
                        }
                    })
                    .buffer_unordered(32)
                    .collect::<Vec<_>>()
                    .await
            })
        };
        let ids: Vec<String> = (0..JOBS)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        for (n, id) in ids.iter().enumerate() {
            publish_job(&client, id, &[&format!("job {n} is wonderful"), "meh"]).await;
        }

        kill_now.notified().await;
        a.kill().await;

        let replies = stream.await.unwrap();
        assert_eq!(replies.len(), REQUESTS);
        let from_a = replies
            .iter()
            .filter(|(_, reply)| reply.node == "a")
            .count();
        for (id, reply) in &replies {
            assert_eq!(reply.status, 200, "{id}: {:?}", reply.payload);
            assert_eq!(&reply.correlation_id, id);
            assert_eq!(reply.json()["correlation_id"], id.as_str());
        }
        // The kill landed mid-stream: a answered some, b the rest (retries included).
        assert!(
            from_a > 0 && from_a < REQUESTS - KILL_AFTER,
            "a answered {from_a}"
        );

        // Every job finished; a job a killed node published but never acked may come twice
        // (at-least-once delivery), with the same results: the client keeps the first.
        let seen = collect_results(&mut results, &ids).await;
        for id in &ids {
            let copies = &seen[id];
            let (_, first) = &copies[0];
            assert_eq!(first["status"], "done", "{id}");
            assert_eq!(first["results"][0]["label"], "positive", "{id}");
            for (_, copy) in copies {
                assert_eq!(copy["results"], first["results"], "{id}");
            }
        }
        assert_eq!(
            seen.len(),
            JOBS,
            "each job finished once as the client counts"
        );
    })
    .await;
}

/// An upstream that accepts connections and never answers: a job sent to it is held.
async fn hanging_upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_held_by_a_killed_node_are_redelivered_to_another() {
    bounded(Duration::from_secs(60), async {
        let server = NatsServer::start();
        let upstream = hanging_upstream().await;
        let stuck = format!(
            "\n[[sentiment.endpoints]]\nurl = \"http://{upstream}/models/sentiment\"\n\
             timeout_ms = 120000\n\n[sentiment.jobs]\njob_timeout = \"120s\"\n"
        );
        let mut a = Node::start("a", &server.url(), &stuck).await;
        let client = client(&server.url()).await;
        let mut consumer = jobs_consumer(&client).await;
        let mut results = client.subscribe("bulwark.v1.jobs.results.>").await.unwrap();
        let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        for id in &ids {
            publish_job(&client, id, &["held by a", "then done by b"]).await;
        }

        // The event: a holds all three (delivered, not acked).
        let mut poll = tokio::time::interval(Duration::from_millis(20));
        loop {
            poll.tick().await;
            let info = consumer.info().await.unwrap();
            if info.num_ack_pending == ids.len() {
                break;
            }
        }
        a.kill().await;

        let _b = Node::start("b", &server.url(), "").await;
        let seen = collect_results(&mut results, &ids).await;
        for id in &ids {
            let (node, view) = &seen[id][0];
            assert_eq!(node, "b", "{id}");
            assert_eq!(view["status"], "done");
        }
    })
    .await;
}
