//! Two nodes in queue group `bulwark`: the server spreads requests across both.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::support::{NatsServer, Node, bounded, client, json_request, wait_serving};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_requests() {
    bounded(Duration::from_secs(60), async {
        let server = NatsServer::start();
        let _a = Node::start("a", &server.url(), "").await;
        let _b = Node::start("b", &server.url(), "").await;
        let client = client(&server.url()).await;
        wait_serving(&client, "a").await;
        wait_serving(&client, "b").await;

        let replies: Vec<_> = futures::stream::iter(0..200)
            .map(|n| {
                let client = client.clone();
                async move {
                    let id = format!("spread-{n}");
                    let body = json!({"text": format!("text number {n} is great")});
                    let reply = json_request(&client, "bulwark.v1.sentiment", &id, &body).await;
                    assert_eq!(
                        (reply.status, reply.correlation_id.as_str()),
                        (200, id.as_str())
                    );
                    reply.node
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut per_node: HashMap<String, usize> = HashMap::new();
        for node in replies {
            *per_node.entry(node).or_default() += 1;
        }
        // Each request goes to a random member: both answering is certain but for 2^-199.
        assert_eq!(per_node.len(), 2, "{per_node:?}");
        assert!(per_node.values().all(|n| *n > 0), "{per_node:?}");
    })
    .await;
}
