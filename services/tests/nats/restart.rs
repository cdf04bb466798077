//! The NATS server restarted under a running node: readiness says NATS is down while it is,
//! the adapter reconnects with backoff, readiness recovers, requests and jobs work again.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::{NatsServer, Node, bounded, client, json_request, publish_job, wait_serving};

/// Polls `/readyz` (every 20 ms, bounded) until `nats` is or is no longer noted.
async fn wait_nats_noted(node: &Node, noted: bool) -> Value {
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..1500 {
        poll.tick().await;
        let report = node.readiness().await;
        if report["notes"].get("nats").is_some() == noted {
            return report;
        }
    }
    panic!(
        "readiness never {} NATS",
        if noted { "noted" } else { "cleared" }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_reconnects_and_readiness_recovers_after_a_server_restart() {
    bounded(Duration::from_secs(60), async {
        let mut server = NatsServer::start();
        let node = Node::start("steady", &server.url(), "").await;
        let first = client(&server.url()).await;
        wait_serving(&first, "steady").await;
        let report = wait_nats_noted(&node, false).await;
        assert_eq!(
            report["status"], "degraded",
            "rule-based sentiment only: {report}"
        );

        server.stop();
        let report = wait_nats_noted(&node, true).await;
        assert!(
            report["notes"]["nats"]
                .as_str()
                .unwrap()
                .contains("disconnected")
        );
        assert_eq!(report["ready"], true, "HTTP still serves: {report}");

        server.restart();
        wait_nats_noted(&node, false).await;
        let client = client(&server.url()).await;
        wait_serving(&client, "steady").await;
        let reply = json_request(
            &client,
            "bulwark.v1.sentiment",
            "after",
            &json!({"text": "ok"}),
        )
        .await;
        assert_eq!((reply.status, reply.node.as_str()), (200, "steady"));

        // The stream and its consumer survived in the server's store: jobs flow again.
        let job_id = uuid::Uuid::now_v7().to_string();
        let mut results = client
            .subscribe(format!("bulwark.v1.jobs.results.{job_id}"))
            .await
            .unwrap();
        crate::support::jobs_consumer(&client).await;
        publish_job(&client, &job_id, &["back again, lovely"]).await;
        let message = results.next().await.unwrap();
        let view: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(view["status"], "done");
    })
    .await;
}
