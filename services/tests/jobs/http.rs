//! The job routes of the product app over a real socket.

use serde_json::json;

use crate::support::{
    Gate, assert_standard, bounded, client, get_job, post_job, product_config, serve_jobs,
    serve_product, until_final,
};
use bulwark_services::jobs::JobsConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_queued_processed_and_answered_with_one_result_per_text() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let (service, served) = serve_product(&product_config(dir.path())).await;
        let client = client();
        let body = json!({"texts": ["I love this, it is great!", "  This is awful.  ", "The meeting is at noon."]});
        let (status, headers, accepted) = post_job(&client, &served.base, &body).await;
        assert_eq!(status, 202, "{accepted}");
        let id = accepted["job_id"].as_str().unwrap().to_owned();
        assert_eq!(accepted["status"], "queued");
        assert_eq!(
            headers["location"].to_str().unwrap(),
            format!("/v1/sentiment/jobs/{id}")
        );

        let job = until_final(&client, &served.base, &id).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["job_id"], id.as_str());
        let results = job["results"].as_array().unwrap();
        let labels: Vec<_> = results.iter().map(|r| r["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["positive", "negative", "neutral"]);
        assert_eq!(results[0]["source"], "rule_based");
        assert!(job.get("error").is_none(), "{job}");
        assert!(job["attempts"].as_u64().unwrap() >= 1);

        // The routes are in the OpenAPI document.
        let doc: serde_json::Value = client
            .get(format!("{}/openapi.json", served.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/v1/sentiment/jobs"]["post"].is_object());
        assert!(doc["paths"]["/v1/sentiment/jobs/{id}"]["get"].is_object());
        drop(served);
        service.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_answers_the_same_job() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let (service, served) = serve_product(&product_config(dir.path())).await;
        let client = client();
        let body = json!({"texts": ["good", "bad"], "idempotency_key": "order-17"});
        let (first, _, a) = post_job(&client, &served.base, &body).await;
        assert_eq!(first, 202, "{a}");
        let (again, _, b) = post_job(&client, &served.base, &body).await;
        assert_eq!(again, 200, "{b}");
        assert_eq!(a["job_id"], b["job_id"]);
        // Trimming makes the same texts.
        let spaced = json!({"texts": [" good ", "bad"], "idempotency_key": "order-17"});
        let (same, _, c) = post_job(&client, &served.base, &spaced).await;
        assert_eq!((same, &c["job_id"]), (200, &a["job_id"]));

        // The key with other texts is a conflict, in the standard format.
        let other = json!({"texts": ["something else"], "idempotency_key": "order-17"});
        let (status, headers, error) = post_job(&client, &served.base, &other).await;
        assert_eq!(status, 409, "{error}");
        assert_standard(status, &headers, &error, "RESOURCE_ERROR");

        let job = until_final(&client, &served.base, a["job_id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "done");
        // A key whose job is done still answers that job.
        let (after, _, d) = post_job(&client, &served.base, &body).await;
        assert_eq!(
            (after, &d["job_id"], &d["status"]),
            (200, &a["job_id"], &json!("done"))
        );
        drop(served);
        service.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_answers_the_standard_error_naming_the_field() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let (service, served) = serve_product(&product_config(dir.path())).await;
        let client = client();
        let long = "x".repeat(10_001);
        let many = vec!["a"; 257];
        let cases = [
            (json!({"texts": []}), "texts"),
            (json!({"texts": many}), "texts"),
            (json!({"texts": ["fine", "   "]}), "texts[1]"),
            (json!({"texts": [long]}), "texts[0]"),
            (
                json!({"texts": ["ok"], "idempotency_key": ""}),
                "idempotency_key",
            ),
            (json!({"texts": ["ok"], "extra": 1}), "extra"),
            (json!({"texts": "not a list"}), "texts"),
            (json!({}), "texts"),
        ];
        for (body, field) in cases {
            let (status, headers, error) = post_job(&client, &served.base, &body).await;
            assert_eq!(status, 400, "{body}: {error}");
            assert_standard(status, &headers, &error, "VALIDATION_ERROR");
            let details = error["details"].as_object().unwrap();
            assert!(
                details.keys().any(|k| k == field || k.starts_with(field)),
                "{body}: expected {field} in {error}"
            );
        }

        for (id, status, code) in [
            ("not-a-uuid", 400, "VALIDATION_ERROR"),
            (
                "0193a0b0-0000-7000-8000-000000000000",
                404,
                "RESOURCE_ERROR",
            ),
        ] {
            let response = client
                .get(format!("{}/v1/sentiment/jobs/{id}", served.base))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{id}");
            let headers = response.headers().clone();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_standard(status, &headers, &body, code);
        }
        drop(served);
        service.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after_and_frees_up_as_jobs_finish() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let config = JobsConfig {
            workers: 1,
            max_queued: 2,
            ..JobsConfig::default()
        };
        let gate = Gate::default();
        let (runtime, queue, served) = serve_jobs(&config, dir.path(), gate.clone()).await;
        let client = client();
        let job = |n: usize| json!({"texts": [format!("text {n}")]});

        // One running (held by the gate), one queued: the queue is full.
        let (s1, _, first) = post_job(&client, &served.base, &job(1)).await;
        assert_eq!(s1, 202, "{first}");
        gate.started(1).await;
        let (s2, _, second) = post_job(&client, &served.base, &job(2)).await;
        assert_eq!(s2, 202, "{second}");
        for n in 3..6 {
            let (status, headers, error) = post_job(&client, &served.base, &job(n)).await;
            assert_eq!(status, 503, "{error}");
            assert_standard(status, &headers, &error, "DEPENDENCY_ERROR");
            let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry_after >= 1);
            assert_eq!(error["details"]["dependency"], "jobs.queue");
        }
        assert_eq!(queue.outstanding(), 2);

        // The first job finishes: one place frees up.
        gate.open(1);
        let done = until_final(&client, &served.base, first["job_id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "done");
        let (s3, _, third) = post_job(&client, &served.base, &job(3)).await;
        assert_eq!(s3, 202, "{third}");

        gate.open(2);
        for id in [&second["job_id"], &third["job_id"]] {
            let job = until_final(&client, &served.base, id.as_str().unwrap()).await;
            assert_eq!(job["status"], "done", "{job}");
        }
        let (status, job) = get_job(&client, &served.base, first["job_id"].as_str().unwrap()).await;
        assert_eq!((status, &job["results"][0]["len"]), (200, &json!(6)));
        queue.shutdown().await;
        runtime.shutdown().await;
    })
    .await;
}
