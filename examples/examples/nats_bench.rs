//! The NATS benchmark's two programs (`scripts/bench_nats.sh` drives them): a bare async-nats
//! echo responder, and a closed-loop load generator that prints requests/s and latency
//! percentiles for one subject.
//!
//! ```sh
//! cargo run --release -p bulwark-examples --example nats_bench -- echo nats://127.0.0.1:4222
//! cargo run --release -p bulwark-examples --example nats_bench -- \
//!     load nats://127.0.0.1:4222 bulwark.v1.sentiment 64 10
//! ```
//!
//! `echo` answers `bench.echo` (queue group `bench`) with a fixed sentiment-shaped JSON body:
//! the floor any NATS request/reply service pays. `load` runs CONCURRENCY tasks, each sending
//! `{"text": …}` requests one after the other for DURATION seconds (after a 1 s warm-up) and
//! prints `SUBJECT req/s p50 p99 errors`.

use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures::StreamExt;
use hdrhistogram::Histogram;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ECHO_ANSWER: &[u8] = br#"{"label":"positive","score":0.8,"source":"rule_based","degraded":true,"correlation_id":"bench"}"#;

async fn echo(client: Client) -> Result<(), Error> {
    let mut requests = client.queue_subscribe("bench.echo", "bench".into()).await?;
    client.flush().await?;
    println!("echo ready");
    while let Some(request) = requests.next().await {
        if let Some(reply) = request.reply {
            client
                .publish(reply, Bytes::from_static(ECHO_ANSWER))
                .await?;
        }
    }
    Ok(())
}

struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
}

async fn one_requester(
    client: Client,
    subject: String,
    task: usize,
    warm_until: Instant,
    until: Instant,
) -> Result<Tally, Error> {
    let mut tally = Tally {
        latencies: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        errors: 0,
    };
    let payload = Bytes::from(format!(
        r#"{{"text":"Bench text {task}: the service was great"}}"#
    ));
    let mut n = 0u64;
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(tally);
        }
        let mut headers = HeaderMap::new();
        headers.insert("Correlation-Id", format!("bench-{task}-{n}").as_str());
        n += 1;
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(payload.clone())
            .timeout(Some(Duration::from_secs(5)));
        let answered = client.send_request(subject.clone(), request).await;
        let ok = answered.as_ref().is_ok_and(|reply| {
            reply
                .headers
                .as_ref()
                .and_then(|h| h.get("Status"))
                .is_none()
        });
        if now >= warm_until {
            if ok {
                let micros = u64::try_from(now.elapsed().as_micros()).unwrap_or(u64::MAX);
                tally.latencies.record(micros.max(1))?;
            } else {
                tally.errors += 1;
            }
        }
    }
}

/// Waits (bounded) until something answers on `subject`.
async fn wait_answered(client: &Client, subject: &str) -> Result<(), Error> {
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    for _ in 0..600 {
        poll.tick().await;
        let request = async_nats::Request::new()
            .payload(Bytes::from_static(br#"{"text":"warm"}"#))
            .timeout(Some(Duration::from_secs(1)));
        if client
            .send_request(subject.to_owned(), request)
            .await
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(format!("nothing answers {subject}").into())
}

async fn load(client: Client, subject: String, concurrency: usize, secs: u64) -> Result<(), Error> {
    wait_answered(&client, &subject).await?;
    let warm_until = Instant::now() + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            tokio::spawn(one_requester(
                client.clone(),
                subject.clone(),
                task,
                warm_until,
                until,
            ))
        })
        .collect();
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for task in tasks {
        let tally = task.await??;
        all.add(&tally.latencies)?;
        errors += tally.errors;
    }
    let rps = all.len() as f64 / secs as f64;
    println!(
        "{subject:<22} {rps:>10.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {errors}",
        all.value_at_quantile(0.5) as f64 / 1e3,
        all.value_at_quantile(0.99) as f64 / 1e3,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: nats_bench echo URL | nats_bench load URL SUBJECT CONCURRENCY SECONDS";
    let (Some(mode), Some(url)) = (args.first(), args.get(1)) else {
        return Err(usage.into());
    };
    let client = async_nats::connect(url.as_str()).await?;
    match mode.as_str() {
        "echo" => echo(client).await,
        "load" => {
            let subject = args.get(2).ok_or(usage)?.clone();
            let concurrency = args.get(3).ok_or(usage)?.parse()?;
            let secs = args.get(4).ok_or(usage)?.parse()?;
            load(client, subject, concurrency, secs).await
        }
        _ => Err(usage.into()),
    }
}
