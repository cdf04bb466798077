//! Failing tries: a transient failure is tried again after the backoff, a permanent one marks
//! the job failed with the processor's public message, and a stale try can never write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::dependency::CallContext;
use bulwark_services::jobs::model::{JobId, NewJob, now_ms};
use bulwark_services::jobs::processor::{JobProcessor, ProcessError};
use bulwark_services::jobs::store::{Finish, JobStore};
use bulwark_services::jobs::{JobStatus, JobsConfig};
use serde_json::{Value, json};

use crate::support::{bounded, client, post_job, serve_jobs, until_final};

/// Fails the first try of every job transiently; refuses texts containing "poison" for good.
#[derive(Clone, Default)]
struct Flaky {
    tries: Arc<AtomicU32>,
}

#[derive(Debug, thiserror::Error)]
#[error("upstream hiccup")]
struct Hiccup;

impl JobProcessor for Flaky {
    type Output = Value;

    async fn process(
        &self,
        _ctx: &CallContext,
        texts: &[String],
    ) -> Result<Vec<Value>, ProcessError> {
        if texts.iter().any(|t| t.contains("poison")) {
            return Err(ProcessError::permanent("Text cannot be analysed"));
        }
        if self.tries.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(ProcessError::transient("Model unavailable", Hiccup));
        }
        Ok(texts.iter().map(|t| json!({"echo": t})).collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_tried_again_and_a_permanent_one_fails_the_job() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let config = JobsConfig {
            workers: 1,
            retry_backoff: Duration::from_millis(10),
            poll_interval: Duration::from_millis(20),
            ..JobsConfig::default()
        };
        let (runtime, queue, served) = serve_jobs(&config, dir.path(), Flaky::default()).await;
        let client = client();

        let (status, _, accepted) =
            post_job(&client, &served.base, &json!({"texts": ["hello"]})).await;
        assert_eq!(status, 202, "{accepted}");
        let job = until_final(&client, &served.base, accepted["job_id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["attempts"], 2, "{job}");
        assert_eq!(job["results"], json!([{"echo": "hello"}]));

        let (status, _, accepted) = post_job(
            &client,
            &served.base,
            &json!({"texts": ["ok", "poison pill"]}),
        )
        .await;
        assert_eq!(status, 202, "{accepted}");
        let job = until_final(&client, &served.base, accepted["job_id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["error"], "Text cannot be analysed");
        assert!(job.get("results").is_none(), "{job}");
        assert_eq!(queue.outstanding(), 0);
        queue.shutdown().await;
        runtime.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn only_the_try_holding_the_job_writes_its_result_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open_in(dir.path()).await.unwrap();
    let job = NewJob {
        id: JobId::generate(),
        idempotency_key: None,
        request_hash: "h".to_owned(),
        texts: vec!["a".to_owned()],
        correlation_id: "c".to_owned(),
        created_at_ms: now_ms(),
    };
    store.insert(&job).await.unwrap();
    // A retried insert (same id) finds its own row: still one job.
    store.insert(&job).await.unwrap();

    // Try 1 claims with a lease that has already run out; try 2 takes the job over.
    let first = store
        .claim(now_ms(), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .claim(now_ms() + 1, Duration::from_secs(600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.attempt, second.attempt), (1, 2));
    assert!(
        store
            .claim(now_ms(), Duration::from_secs(600))
            .await
            .unwrap()
            .is_none()
    );

    let results = json!([{"label": "neutral"}]);
    let now = now_ms();
    assert_eq!(
        store.complete(job.id, 1, &results, now).await.unwrap(),
        Finish::NotOwner
    );
    assert_eq!(
        store.complete(job.id, 2, &results, now).await.unwrap(),
        Finish::Written
    );
    assert_eq!(
        store.complete(job.id, 2, &results, now).await.unwrap(),
        Finish::NotOwner
    );
    assert_eq!(
        store.fail(job.id, 2, "late", now).await.unwrap(),
        Finish::NotOwner
    );
    assert_eq!(
        store.requeue(job.id, 2, now, now).await.unwrap(),
        Finish::NotOwner
    );

    let audit = store.audit().await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].status, audit[0].completed_count, audit[0].results),
        (JobStatus::Done, 1, 1)
    );
    assert_eq!(store.outstanding().await.unwrap(), 0);
    // Retention deletes finished jobs only.
    assert_eq!(store.purge(now_ms() + 1).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_answers_503_with_retry_after_in_the_standard_format() {
    use bulwark_services::jobs::store::JobStoreDependency;

    use crate::support::{Gate, assert_standard, get_job};

    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let config = JobsConfig {
            shutdown_grace: Duration::from_millis(100),
            ..JobsConfig::default()
        };
        let (runtime, queue, served) = serve_jobs(&config, dir.path(), Gate::default()).await;
        let client = client();
        let (status, _, accepted) = post_job(&client, &served.base, &json!({"texts": ["a"]})).await;
        assert_eq!(status, 202, "{accepted}");

        // The database goes away under the running queue.
        let store = runtime.handle::<JobStoreDependency>("jobs.store").unwrap();
        store.dependency().store().pool().close().await;

        let (status, headers, error) =
            post_job(&client, &served.base, &json!({"texts": ["b"]})).await;
        assert_eq!(status, 503, "{error}");
        assert_standard(status, &headers, &error, "DEPENDENCY_ERROR");
        assert!(headers.contains_key("retry-after"), "{headers:?}");
        let (status, error) =
            get_job(&client, &served.base, accepted["job_id"].as_str().unwrap()).await;
        assert_eq!(
            (status, &error["error_code"]),
            (503, &json!("DEPENDENCY_ERROR")),
            "{error}"
        );
        // The refused job holds no place in the queue.
        assert_eq!(queue.outstanding(), 1);
        queue.shutdown().await;
        runtime.shutdown().await;
    })
    .await;
}
