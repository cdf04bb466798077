//! Durability across a real process kill: `bulwark serve` on a temporary data dir, 200 jobs
//! queued, `kill -9` while they are being processed, a restart on the same data dir, and then
//! every job done — each with exactly one result set, as the store's bookkeeping shows.

use std::path::Path;
use std::time::{Duration, Instant};

use bulwark_services::jobs::JobStatus;
use bulwark_services::jobs::store::JobStore;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::process::Child;

use crate::support::{client, get_job, post_job};

const JOBS: usize = 200;
/// Texts per job and their length: enough work that one worker is far from done when the last
/// job is accepted (the test checks that the kill did land mid-run).
const TEXTS_PER_JOB: usize = 64;
const TEXT_CHARS: usize = 2_000;

/// Starts `bulwark serve` with `config` on port 0; answers the child and its base URL, read
/// `bulwark --config CONFIG serve` on `data_dir`.
async fn serve(config: &Path, data_dir: &Path) -> (Child, String) {
    crate::binary::serve(&["--config".as_ref(), config.as_os_str()], data_dir).await
}

/// Varied text: sentences of different sentiment, cycled from an offset.
fn text(seed: usize) -> String {
    const SENTENCES: [&str; 6] = [
        "The service was absolutely wonderful and the staff were kind. ",
        "I waited two hours and nobody answered, which is terrible. ",
        "The package arrived on Tuesday. ",
        "Not bad at all, though the price is HIGH!! ",
        "I really don't like the new design :( ",
        "Great value, would buy again :) ",
    ];
    let mut text = String::with_capacity(TEXT_CHARS + 80);
    let mut i = seed;
    while text.len() < TEXT_CHARS {
        text.push_str(SENTENCES[i % SENTENCES.len()]);
        i += 1;
    }
    text.truncate(TEXT_CHARS);
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_jobs_survive_kill_9_and_finish_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = dir.path().join("bulwark.toml");
    std::fs::write(
        &config,
        "[server.rate_limit]\nenabled = false\n\n[sentiment.jobs]\nworkers = 1\nmax_queued = 1000\n",
    )
    .unwrap();

    let (mut first, base) = serve(&config, &data_dir).await;
    let client = client();
    let started = Instant::now();
    let bodies: Vec<Value> = (0..JOBS)
        .map(|n| json!({"texts": (0..TEXTS_PER_JOB).map(|t| text(n + t)).collect::<Vec<_>>()}))
        .collect();
    let ids: Vec<String> = futures::stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            let base = base.clone();
            async move {
                let (status, _, accepted) = post_job(&client, &base, &body).await;
                assert_eq!(status, 202, "{accepted}");
                accepted["job_id"].as_str().unwrap().to_owned()
            }
        })
        .buffered(8)
        .collect()
        .await;
    let posted = started.elapsed();

    // Every job was acknowledged: kill -9 now, while the worker is at it.
    first.kill().await.unwrap();
    let store = JobStore::open_in(&data_dir).await.unwrap();
    let at_kill = store.audit().await.unwrap();
    store.pool().close().await;
    assert_eq!(at_kill.len(), JOBS, "every acknowledged job is stored");
    let done_at_kill = at_kill
        .iter()
        .filter(|r| r.status == JobStatus::Done)
        .count();
    eprintln!("posted {JOBS} jobs in {posted:?}; {done_at_kill} done at the kill");
    assert!(
        done_at_kill < JOBS,
        "all jobs finished before the kill: make them bigger so the kill lands mid-run"
    );

    // Restart on the same data dir: every job finishes.
    let (mut second, base) = serve(&config, &data_dir).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    for id in &ids {
        loop {
            let (status, job) = get_job(&client, &base, id).await;
            assert_eq!(status, 200, "{job}");
            if job["status"] == "done" {
                assert_eq!(job["results"].as_array().unwrap().len(), TEXTS_PER_JOB);
                break;
            }
            assert_ne!(job["status"], "failed", "{job}");
            assert!(
                Instant::now() < deadline,
                "jobs not done within 300 s: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // A graceful stop, then the store's bookkeeping: each result written exactly once.
    let pid = second.id().unwrap().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), second.wait())
        .await
        .expect("bulwark did not stop within 30 s of SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit}");
    let store = JobStore::open_in(&data_dir).await.unwrap();
    let audit = store.audit().await.unwrap();
    assert_eq!(audit.len(), JOBS);
    for row in &audit {
        assert_eq!(row.status, JobStatus::Done, "{row:?}");
        assert_eq!(
            row.completed_count, 1,
            "result written more than once: {row:?}"
        );
        assert_eq!(row.results, TEXTS_PER_JOB, "{row:?}");
        assert!(row.attempts >= 1, "{row:?}");
    }
    let retried = audit.iter().filter(|r| r.attempts > 1).count();
    eprintln!("{retried} job(s) interrupted by the kill were tried again");
}
