//! One node: every subject in JSON and postcard, the same bodies as HTTP, correlation IDs
//! echoed or generated, malformed payloads answered with a 400 standard error, a job over
//! JetStream whose results are kept in the job store.

use std::time::Duration;

use async_nats::HeaderMap;
use bulwark_services::auth::routes::ValidateRequest;
use bulwark_services::auth::service::Principal;
use bulwark_services::embeddings::routes::{EmbeddingsRequest, EmbeddingsResponse};
use bulwark_services::sentiment::analyzer::Label;
use bulwark_services::sentiment::routes::{SentimentRequest, SentimentResponse};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::{
    NatsServer, Node, bounded, client, json_request, publish_job, request, request_once,
    wait_serving,
};

const POSTCARD: &str = "application/postcard";
const BOUND: Duration = Duration::from_secs(60);

async fn postcard<T: serde::Serialize>(
    client: &async_nats::Client,
    subject: &str,
    id: &str,
    body: &T,
) -> crate::support::Reply {
    let payload = Bytes::from(postcard::to_stdvec(body).unwrap());
    request(
        client,
        subject,
        id,
        POSTCARD,
        payload,
        Duration::from_secs(2),
        3,
    )
    .await
}

async fn http_json(base: &str, path: &str, id: &str, body: &Value) -> Value {
    crate::support::http()
        .post(format!("{base}{path}"))
        .header("X-Correlation-ID", id)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subject_round_trips_in_json_and_postcard() {
    bounded(BOUND, async {
        let server = NatsServer::start();
        let node = Node::start("solo", &server.url(), "").await;
        let client = client(&server.url()).await;
        wait_serving(&client, "solo").await;

        // Sentiment: the JSON reply is the HTTP body, byte for byte in meaning.
        let body = json!({"text": "I love it, wonderful!"});
        let reply = json_request(&client, "bulwark.v1.sentiment", "rt-sentiment", &body).await;
        assert_eq!(
            (reply.status, reply.correlation_id.as_str()),
            (200, "rt-sentiment")
        );
        assert_eq!(reply.content_type, "application/json");
        let http = http_json(&node.base, "/v1/sentiment", "rt-sentiment", &body).await;
        assert_eq!(reply.json(), http);
        let request_body = SentimentRequest {
            text: "I love it, wonderful!".into(),
        };
        let reply = postcard(&client, "bulwark.v1.sentiment", "rt-s-pc", &request_body).await;
        assert_eq!((reply.status, reply.content_type.as_str()), (200, POSTCARD));
        let answer: SentimentResponse = postcard::from_bytes(&reply.payload).unwrap();
        assert_eq!(answer.label, Label::Positive);
        assert_eq!(answer.correlation_id, "rt-s-pc");

        // Responses (no provider configured: the template answers, degraded, as over HTTP).
        let body = json!({"message": "Where is my parcel? It was due on Monday."});
        let reply = json_request(&client, "bulwark.v1.responses", "rt-responses", &body).await;
        assert_eq!(
            (reply.status, reply.correlation_id.as_str()),
            (200, "rt-responses")
        );
        let answer = reply.json();
        assert_eq!(answer["provider"], "template");
        assert_eq!(answer["degraded"], true);
        assert_eq!(
            answer,
            http_json(&node.base, "/v1/responses", "rt-responses", &body).await
        );

        // Embeddings.
        let body = json!({"input": ["hello world", "bye"]});
        let reply = json_request(&client, "bulwark.v1.embeddings", "rt-embed", &body).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            http_json(&node.base, "/v1/embeddings", "rt-embed", &body).await
        );
        let request_body = EmbeddingsRequest {
            input: vec!["hello world".into()],
        };
        let reply = postcard(&client, "bulwark.v1.embeddings", "rt-e-pc", &request_body).await;
        let answer: EmbeddingsResponse = postcard::from_bytes(&reply.payload).unwrap();
        assert_eq!(answer.data.len(), 1);
        assert!(!answer.data[0].embedding.is_empty());
        assert_eq!(answer.correlation_id, "rt-e-pc");

        // Token validation: a token issued over HTTP, checked over NATS.
        let credentials = json!({"username": "alice", "password": "correct horse battery"});
        http_json(&node.base, "/v1/auth/register", "rt-reg", &credentials).await;
        let issued = http_json(&node.base, "/v1/auth/token", "rt-tok", &credentials).await;
        let token = issued["access_token"].as_str().unwrap().to_owned();
        let reply = json_request(
            &client,
            "bulwark.v1.auth.validate",
            "rt-auth",
            &json!({"token": token}),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["username"], "alice");
        let reply = postcard(
            &client,
            "bulwark.v1.auth.validate",
            "rt-a-pc",
            &ValidateRequest { token },
        )
        .await;
        let principal: Principal = postcard::from_bytes(&reply.payload).unwrap();
        assert_eq!(principal.username, "alice");
        let reply = json_request(
            &client,
            "bulwark.v1.auth.validate",
            "rt-a-bad",
            &json!({"token": "not.a.token"}),
        )
        .await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json()["error_code"], "AUTH_ERROR");

        // No Correlation-Id: one is generated, in the header and the body alike.
        let reply = request_once(
            &client,
            "bulwark.v1.sentiment",
            HeaderMap::new(),
            Bytes::from_static(br#"{"text":"fine"}"#),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(reply.correlation_id.len(), 36, "a UUID");
        assert_eq!(
            reply.json()["correlation_id"],
            reply.correlation_id.as_str()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_are_answered_400_in_the_standard_format() {
    bounded(BOUND, async {
        let server = NatsServer::start();
        let _node = Node::start("strict", &server.url(), "").await;
        let client = client(&server.url()).await;
        wait_serving(&client, "strict").await;
        let cases: [(&str, &str, &[u8], &str); 6] = [
            (
                "bulwark.v1.responses",
                "application/json",
                br#"{"message":""}"#,
                "message",
            ),
            (
                "bulwark.v1.sentiment",
                "application/json",
                b"not json",
                "body",
            ),
            (
                "bulwark.v1.sentiment",
                "application/json",
                br#"{"txt":"a"}"#,
                "txt",
            ),
            (
                "bulwark.v1.embeddings",
                "application/json",
                br#"{"input":"a"}"#,
                "input",
            ),
            (
                "bulwark.v1.auth.validate",
                POSTCARD,
                &[0xff, 0xff, 0xff],
                "body",
            ),
            (
                "bulwark.v1.sentiment",
                "text/plain",
                b"hello",
                "content-type",
            ),
        ];
        for (n, (subject, content_type, payload, field)) in cases.into_iter().enumerate() {
            let id = format!("bad-{n}");
            let payload = Bytes::copy_from_slice(payload);
            let timeout = Duration::from_secs(2);
            let reply = request(&client, subject, &id, content_type, payload, timeout, 3).await;
            assert_eq!(reply.status, 400, "{subject} {field}");
            assert_eq!(reply.correlation_id, id);
            assert_eq!(reply.content_type, "application/json");
            let body = reply.json();
            assert_eq!(body["error"], true);
            assert_eq!(body["status_code"], 400);
            assert_eq!(body["error_code"], "VALIDATION_ERROR");
            assert_eq!(body["correlation_id"], id.as_str());
            assert!(body["details"].get(field).is_some(), "{subject}: {body}");
            assert!(body["timestamp"].is_string());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_jetstream_is_answered_and_kept_in_the_job_store() {
    bounded(BOUND, async {
        let server = NatsServer::start();
        let node = Node::start("worker", &server.url(), "").await;
        let client = client(&server.url()).await;
        crate::support::jobs_consumer(&client).await;

        let job_id = uuid::Uuid::now_v7().to_string();
        let mut results = client
            .subscribe(format!("bulwark.v1.jobs.results.{job_id}"))
            .await
            .unwrap();
        publish_job(&client, &job_id, &["I love it", "This is terrible"]).await;
        let message = results.next().await.unwrap();
        let view: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(view["job_id"], job_id.as_str());
        assert_eq!(view["status"], "done");
        assert_eq!(view["results"][0]["label"], "positive");
        assert_eq!(view["results"][1]["label"], "negative");
        let headers = message.headers.unwrap();
        assert_eq!(headers.get("Bulwark-Node").unwrap().as_str(), "worker");
        assert_eq!(
            headers.get("Correlation-Id").unwrap().as_str(),
            format!("job-{job_id}")
        );
        // The same view as GET /v1/sentiment/jobs/{id} answers from the node's store.
        let stored: Value = crate::support::http()
            .get(format!("{}/v1/sentiment/jobs/{job_id}", node.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stored, view);

        // A job whose texts are invalid is answered 400 on its results subject, not retried.
        let bad_id = uuid::Uuid::now_v7().to_string();
        let mut bad = client
            .subscribe(format!("bulwark.v1.jobs.results.{bad_id}"))
            .await
            .unwrap();
        publish_job(&client, &bad_id, &["   "]).await;
        let message = bad.next().await.unwrap();
        let headers = message.headers.unwrap();
        assert_eq!(headers.get("Status").unwrap().as_str(), "400");
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(body["error_code"], "VALIDATION_ERROR");
        assert!(body["details"].get("texts[0]").is_some(), "{body}");
    })
    .await;
}
