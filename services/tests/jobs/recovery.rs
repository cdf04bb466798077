//! Restarts on the same data dir, in process: jobs a "crashed" process left running finish
//! after the next start, a graceful stop puts jobs in flight back in the queue, and no result is
//! written twice.

use std::time::Duration;

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::jobs::model::{JobId, NewJob, now_ms};
use bulwark_services::jobs::sentiment::RuleBasedSentiment;
use bulwark_services::jobs::store::{Inserted, JobStore};
use bulwark_services::jobs::{JobQueue, JobRequest, JobStatus, JobsConfig};

use crate::support::{Gate, bounded};

fn new_job(n: usize) -> NewJob {
    NewJob {
        id: JobId::generate(),
        idempotency_key: None,
        request_hash: format!("hash-{n}"),
        texts: vec![format!("text number {n} is great"), "awful".to_owned()],
        correlation_id: format!("test-{n}"),
        created_at_ms: now_ms(),
    }
}

/// Waits (polling the queue, bounded by the test) until every job in `ids` is done.
async fn until_done(queue: &JobQueue, ids: &[JobId]) {
    let ctx = CallContext::untracked();
    for id in ids {
        loop {
            let job = queue.get(&ctx, *id).await.unwrap();
            assert_ne!(job.status, JobStatus::Failed, "{job:?}");
            if job.status == JobStatus::Done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_left_running_by_a_crash_finish_after_the_next_start() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        // The crashed process: five jobs accepted, two of them claimed (running) when it died.
        let store = JobStore::open_in(dir.path()).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..5 {
            let job = new_job(n);
            assert_eq!(store.insert(&job).await.unwrap(), Inserted::Created);
            ids.push(job.id);
        }
        let lease = Duration::from_secs(600);
        let a = store.claim(now_ms(), lease).await.unwrap().unwrap();
        let b = store.claim(now_ms(), lease).await.unwrap().unwrap();
        assert_eq!((a.id, b.id, a.attempt), (ids[0], ids[1], 1));
        store.pool().close().await;

        let runtime = Runtime::builder().build().await.unwrap();
        let queue = JobQueue::start(
            &runtime,
            &JobsConfig::default(),
            dir.path(),
            RuleBasedSentiment::default(),
            None,
        )
        .await
        .unwrap();
        until_done(&queue, &ids).await;
        queue.shutdown().await;
        runtime.shutdown().await;

        let audit = JobStore::open_in(dir.path())
            .await
            .unwrap()
            .audit()
            .await
            .unwrap();
        assert_eq!(audit.len(), 5);
        for row in &audit {
            assert_eq!(row.status, JobStatus::Done, "{row:?}");
            assert_eq!(row.completed_count, 1, "{row:?}");
            assert_eq!(row.results, row.texts, "{row:?}");
        }
        // The two interrupted jobs were tried again; the others once.
        let attempts: Vec<_> = audit.iter().map(|r| r.attempts).collect();
        assert_eq!(attempts, [2, 2, 1, 1, 1]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_puts_jobs_in_flight_back_and_the_next_start_finishes_them() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let config = JobsConfig {
            workers: 2,
            shutdown_grace: Duration::from_millis(100),
            ..JobsConfig::default()
        };
        let gate = Gate::default();
        let runtime = Runtime::builder().build().await.unwrap();
        let queue = JobQueue::start(&runtime, &config, dir.path(), gate.clone(), None)
            .await
            .unwrap();
        let ctx = CallContext::untracked();
        let mut ids = Vec::new();
        for n in 0..4 {
            let request = JobRequest {
                texts: vec![format!("job {n}")],
                idempotency_key: None,
            };
            ids.push(
                queue
                    .submit(&ctx, request.check().unwrap())
                    .await
                    .unwrap()
                    .id,
            );
        }
        // Both workers hold a job that never finishes: the stop cannot wait for them.
        gate.started(2).await;
        queue.shutdown().await;
        // Stopped: no more jobs accepted.
        let request = JobRequest {
            texts: vec!["late".to_owned()],
            idempotency_key: None,
        };
        assert!(queue.submit(&ctx, request.check().unwrap()).await.is_err());
        runtime.shutdown().await;

        let store = JobStore::open_in(dir.path()).await.unwrap();
        let audit = store.audit().await.unwrap();
        assert!(
            audit.iter().all(|r| r.status == JobStatus::Queued),
            "{audit:?}"
        );
        store.pool().close().await;

        let runtime = Runtime::builder().build().await.unwrap();
        let queue = JobQueue::start(
            &runtime,
            &config,
            dir.path(),
            RuleBasedSentiment::default(),
            None,
        )
        .await
        .unwrap();
        until_done(&queue, &ids).await;
        queue.shutdown().await;
        runtime.shutdown().await;
        let audit = JobStore::open_in(dir.path())
            .await
            .unwrap()
            .audit()
            .await
            .unwrap();
        assert!(audit.iter().all(|r| r.completed_count == 1), "{audit:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_crashed_every_try_is_marked_failed_not_retried_forever() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let store = JobStore::open_in(dir.path()).await.unwrap();
        let job = new_job(0);
        store.insert(&job).await.unwrap();
        // Three tries, each "crashed": claimed and requeued by recovery.
        for _ in 0..3 {
            store
                .claim(now_ms(), Duration::from_secs(600))
                .await
                .unwrap()
                .unwrap();
            store.recover(3, now_ms()).await.unwrap();
        }
        let record = store.get(job.id).await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::Failed, "{record:?}");
        assert!(record.error.unwrap().contains("gave up"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_service_restarted_on_its_data_dir_finishes_and_remembers_its_jobs() {
    use serde_json::json;

    use crate::support::{client, get_job, post_job, product_config, serve_product, until_final};

    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = product_config(dir.path());
        config.sentiment.jobs.workers = 1;
        config.sentiment.jobs.shutdown_grace = Duration::from_millis(1);
        let client = client();

        // First life: 20 jobs of 200 texts each, stopped at once.
        let (service, served) = serve_product(&config).await;
        let mut ids = Vec::new();
        for n in 0..20 {
            let texts: Vec<String> = (0..200)
                .map(|t| format!("job {n} text {t} is lovely"))
                .collect();
            let body = json!({"texts": texts, "idempotency_key": format!("key-{n}")});
            let (status, _, accepted) = post_job(&client, &served.base, &body).await;
            assert_eq!(status, 202, "{accepted}");
            ids.push((body, accepted["job_id"].as_str().unwrap().to_owned()));
        }
        drop(served);
        service.shutdown().await;

        // Second life on the same data dir: every job finishes, and every key still names its job.
        let (service, served) = serve_product(&config).await;
        for (body, id) in &ids {
            let (status, _, again) = post_job(&client, &served.base, body).await;
            assert_eq!(
                (status, again["job_id"].as_str()),
                (200, Some(id.as_str())),
                "{again}"
            );
            let job = until_final(&client, &served.base, id).await;
            assert_eq!(job["status"], "done", "{job}");
            assert_eq!(job["results"].as_array().unwrap().len(), 200);
        }
        let (status, _) = get_job(&client, &served.base, &ids[0].1).await;
        assert_eq!(status, 200);
        drop(served);
        service.shutdown().await;

        let audit = JobStore::open_in(dir.path())
            .await
            .unwrap()
            .audit()
            .await
            .unwrap();
        assert_eq!(audit.len(), 20);
        assert!(
            audit
                .iter()
                .all(|r| r.status == JobStatus::Done && r.completed_count == 1),
            "{audit:?}"
        );
    })
    .await;
}
