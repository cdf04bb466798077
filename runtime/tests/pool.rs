//! Inference pools against real HTTP upstreams on loopback: balancing away from a failing
//! endpoint, ejection and rejoining, failover across tiers, hedging a slow endpoint, the fallback
//! chain when every endpoint is down, the deadline, and per-endpoint metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod loopback;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use bulwark_runtime::breaker::{BreakerConfig, State as Circuit, WindowKind};
use bulwark_runtime::dependency::{AnswerSource, BreakerCommand};
use bulwark_runtime::fallback::{FallbackCause, FallbackChain, FallbackSource};
use bulwark_runtime::http::{HttpDependency, HttpRequest};
use bulwark_runtime::policy::{Policy, ProbePolicy};
use bulwark_runtime::pool::{Hedging, Pool, PoolBuilder, PoolError};
use bulwark_runtime::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ask {
    text: String,
}

/// The upstream names itself in every answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Served {
    by: String,
}

type Model = HttpDependency<Ask, Served>;

fn ask() -> HttpRequest<Ask> {
    HttpRequest::post(
        "/predict",
        Ask {
            text: "hello".to_owned(),
        },
    )
}

/// A scripted upstream: healthy or answering 500/503, fast, or slow on every n-th request.
struct Upstream {
    name: &'static str,
    hits: AtomicU32,
    /// 200 when 0, else this status.
    failing_with: AtomicU32,
    healthy: AtomicBool,
    latency: Duration,
    /// Every `slow_every`-th request (the 20th, 40th, …) takes `slow` instead (0: never).
    slow_every: u32,
    slow: Duration,
}

impl Upstream {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            hits: AtomicU32::new(0),
            failing_with: AtomicU32::new(0),
            healthy: AtomicBool::new(true),
            latency: Duration::ZERO,
            slow_every: 0,
            slow: Duration::ZERO,
        }
    }

    fn failing(name: &'static str, status: u16) -> Self {
        let upstream = Self::new(name);
        upstream
            .failing_with
            .store(u32::from(status), Ordering::SeqCst);
        upstream.healthy.store(false, Ordering::SeqCst);
        upstream
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }

    fn recover(&self) {
        self.healthy.store(true, Ordering::SeqCst);
    }
}

async fn answer(State(up): State<Arc<Upstream>>) -> axum::response::Response {
    let n = up.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let slow = up.slow_every > 0 && n % up.slow_every == 0;
    let delay = if slow { up.slow } else { up.latency };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if !up.healthy.load(Ordering::SeqCst) {
        let code = up.failing_with.load(Ordering::SeqCst);
        let status = StatusCode::from_u16(u16::try_from(code).unwrap()).unwrap();
        return status.into_response();
    }
    Json(Served {
        by: up.name.to_owned(),
    })
    .into_response()
}

async fn serve(upstream: Arc<Upstream>) -> loopback::Upstream {
    let app = axum::Router::new()
        .route("/predict", post(answer))
        .with_state(upstream);
    loopback::serve(app).await
}

/// Trips at 50 % after 5 calls (count window 10); stays open for a minute; two trial calls;
/// no probes (the tests move the breaker by hand).
fn policy() -> Policy {
    Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 10 })
            .minimum_calls(5)
            .failure_rate_threshold(50.0)
            .reset_timeout(Duration::from_secs(60))
            .half_open_permits(2)
            .build()
            .unwrap(),
        probe: ProbePolicy {
            enabled: false,
            ..ProbePolicy::default()
        },
        ..Policy::default()
    }
}

fn model(server: &loopback::Upstream) -> Model {
    Model::builder(server.url()).build().unwrap()
}

async fn runtime() -> Runtime {
    Runtime::builder().build().await.unwrap()
}

/// A pool "model" of two served upstreams (named after them, test policy), with whatever else
/// `more` adds; the servers stop when the returned guard is dropped.
async fn pool_of(
    a: &Arc<Upstream>,
    b: &Arc<Upstream>,
    more: impl FnOnce(PoolBuilder<Model>) -> PoolBuilder<Model>,
) -> (Runtime, Pool<Model>, [loopback::Upstream; 2]) {
    let servers = [serve(Arc::clone(a)).await, serve(Arc::clone(b)).await];
    let rt = runtime().await;
    let builder = Pool::builder("model")
        .policy(policy())
        .endpoint(a.name, model(&servers[0]))
        .endpoint(b.name, model(&servers[1]));
    let pool = more(builder).build(&rt).await.unwrap();
    (rt, pool, servers)
}

#[tokio::test]
async fn a_failing_endpoint_loses_all_traffic_within_the_breakers_minimum_calls() {
    let bad = Arc::new(Upstream::failing("bad", 500));
    let good = Arc::new(Upstream::new("good"));
    let (rt, pool, _servers) = pool_of(&bad, &good, |b| b).await;

    for _ in 0..200 {
        // Every call is answered: a 500 is transient, so the call moves to the other endpoint.
        let served = pool.call(ask(), CallContext::untracked()).await.unwrap();
        assert_eq!(served.by, "good");
        pool.flush().await.unwrap();
    }
    assert_eq!(
        bad.hits(),
        5,
        "the bad endpoint saw exactly the breaker's minimum number of calls"
    );
    assert_eq!(pool.endpoint("bad").unwrap().state(), Circuit::Open);
    assert_eq!(good.hits(), 200);
    rt.shutdown().await;
}

#[tokio::test]
async fn an_ejected_endpoint_rejoins_after_its_half_open_trials_succeed() {
    let flaky = Arc::new(Upstream::failing("flaky", 503));
    let steady = Arc::new(Upstream::new("steady"));
    let (rt, pool, _servers) = pool_of(&flaky, &steady, |b| b).await;
    let call_n = |n: usize| {
        let pool = pool.clone();
        async move {
            for _ in 0..n {
                pool.call(ask(), CallContext::untracked()).await.unwrap();
                pool.flush().await.unwrap();
            }
        }
    };

    call_n(100).await;
    let flaky_endpoint = pool.endpoint("flaky").unwrap();
    assert_eq!(flaky_endpoint.state(), Circuit::Open);
    let ejected_at = flaky.hits();
    call_n(50).await;
    assert_eq!(flaky.hits(), ejected_at, "ejected: no traffic while open");

    // Recovered, and half-open: only its two trial calls reach it, then it closes and rejoins.
    flaky.recover();
    flaky_endpoint
        .command(BreakerCommand::HalfOpen)
        .await
        .unwrap();
    let mut calls = 0;
    while flaky_endpoint.state() != Circuit::Closed {
        call_n(1).await;
        calls += 1;
        assert!(
            flaky.hits() - ejected_at <= 2,
            "no more than its trial permits"
        );
        assert!(calls < 500, "the trials never came");
    }
    let rejoined_at = flaky.hits();
    call_n(100).await;
    assert!(
        flaky.hits() - rejoined_at > 10,
        "back in the rotation: {} of 100",
        flaky.hits() - rejoined_at
    );
    rt.shutdown().await;
}

#[tokio::test]
async fn the_backup_tier_takes_over_only_when_the_first_tier_cannot() {
    let down = loopback::refused_port().await;
    let backup = Arc::new(Upstream::new("backup"));
    let primary = Arc::new(Upstream::new("primary"));
    let servers = (
        serve(Arc::clone(&backup)).await,
        serve(Arc::clone(&primary)).await,
    );
    let rt = runtime().await;

    // A healthy first tier: the backup is never asked.
    let healthy = Pool::builder("healthy")
        .policy(policy())
        .endpoint("primary", model(&servers.1))
        .next_tier()
        .endpoint("backup", model(&servers.0))
        .build(&rt)
        .await
        .unwrap();
    for _ in 0..20 {
        let served = healthy.call(ask(), CallContext::untracked()).await.unwrap();
        assert_eq!(served.by, "primary");
    }
    assert_eq!(backup.hits(), 0);

    // A first tier that refuses connections: every call fails over (a refused connection never
    // reached anyone, so even a non-idempotent call moves on), then the tier is ejected.
    let failing = Pool::builder("failing")
        .policy(policy())
        .endpoint(
            "down",
            Model::builder(format!("http://{down}")).build().unwrap(),
        )
        .next_tier()
        .endpoint("backup", model(&servers.0))
        .build(&rt)
        .await
        .unwrap();
    for _ in 0..20 {
        let ctx = CallContext::untracked().idempotent(false);
        let served = failing.call(ask(), ctx).await.unwrap();
        assert_eq!(served.by, "backup");
        failing.flush().await.unwrap();
    }
    assert_eq!(failing.endpoint("down").unwrap().state(), Circuit::Open);
    assert_eq!(backup.hits(), 20);
    rt.shutdown().await;
}

#[tokio::test]
async fn with_every_endpoint_down_the_fallback_chain_answers() {
    let a = Arc::new(Upstream::failing("a", 503));
    let b = Arc::new(Upstream::failing("b", 503));
    let chain = FallbackChain::builder()
        .static_value(Served {
            by: "fallback".to_owned(),
        })
        .build();
    let (rt, pool, _servers) = pool_of(&a, &b, |builder| builder.fallback(chain)).await;

    // Both endpoints tried and failed: the chain answers for exhausted retries.
    let answer = pool
        .call_or_fallback(ask(), CallContext::untracked())
        .await
        .unwrap();
    assert_eq!(answer.value.by, "fallback");
    assert!(answer.degraded());
    assert_eq!(
        answer.source,
        AnswerSource::Fallback {
            source: FallbackSource::Static,
            cause: FallbackCause::RetriesExhausted
        }
    );
    assert_eq!((a.hits(), b.hits()), (1, 1));

    // Once both circuits are open, nothing is sent and the chain answers for the open circuit.
    while pool.endpoints().any(|(_, e)| e.state() != Circuit::Open) {
        let _ = pool.call(ask(), CallContext::untracked()).await;
        pool.flush().await.unwrap();
    }
    let sent = a.hits() + b.hits();
    let err = pool
        .call(ask(), CallContext::untracked())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PoolError::Unavailable { last: None, .. }),
        "{err:?}"
    );
    let answer = pool
        .call_or_fallback(ask(), CallContext::untracked())
        .await
        .unwrap();
    assert!(matches!(
        answer.source,
        AnswerSource::Fallback {
            cause: FallbackCause::CircuitOpen,
            ..
        }
    ));
    assert_eq!(a.hits() + b.hits(), sent);
    rt.shutdown().await;
}

#[tokio::test]
async fn a_pool_call_ends_by_its_deadline() {
    let hang = |name| {
        let mut up = Upstream::new(name);
        up.latency = Duration::from_secs(30);
        Arc::new(up)
    };
    let (a, b) = (hang("a"), hang("b"));
    let servers = (serve(Arc::clone(&a)).await, serve(Arc::clone(&b)).await);
    let rt = runtime().await;
    for hedging in [None, Some(Hedging::fixed(Duration::from_millis(50)))] {
        let mut builder = Pool::builder(format!("hang-{}", hedging.is_some()))
            .policy(policy())
            .endpoint("a", model(&servers.0))
            .endpoint("b", model(&servers.1));
        if let Some(h) = hedging {
            builder = builder.hedging(h);
        }
        let pool = builder.build(&rt).await.unwrap();
        let start = Instant::now();
        let ctx = CallContext::untracked().with_timeout(Duration::from_millis(300));
        let err = pool.call(ask(), ctx).await.unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, PoolError::Timeout { .. }), "{err:?}");
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
    rt.shutdown().await;
}

#[tokio::test]
async fn a_call_that_must_not_run_twice_is_never_hedged() {
    let hang = |name| {
        let mut up = Upstream::new(name);
        up.latency = Duration::from_secs(30);
        Arc::new(up)
    };
    let (a, b) = (hang("a"), hang("b"));
    let (rt, pool, _servers) = pool_of(&a, &b, |builder| {
        builder.hedging(Hedging::fixed(Duration::from_millis(10)).max_share(1.0))
    })
    .await;
    // Enough requests in the window for the cap to allow hedges at all.
    for _ in 0..5 {
        let ctx = CallContext::untracked().with_timeout(Duration::from_millis(100));
        let _ = pool.call(ask(), ctx).await;
    }
    let before = pool.hedge_stats().unwrap().hedges;
    assert!(before > 0, "idempotent calls were hedged");
    let hits = a.hits() + b.hits();

    let once = CallContext::untracked()
        .idempotent(false)
        .with_timeout(Duration::from_millis(200));
    let err = pool.call(ask(), once).await.unwrap_err();
    assert!(matches!(err, PoolError::Timeout { .. }), "{err:?}");
    assert_eq!(pool.hedge_stats().unwrap().hedges, before);
    assert_eq!(a.hits() + b.hits(), hits + 1, "sent exactly once");
    rt.shutdown().await;
}

#[tokio::test]
async fn endpoints_have_their_own_series_labelled_by_endpoint() {
    let up = Arc::new(Upstream::new("a"));
    let server = serve(Arc::clone(&up)).await;
    let rt = runtime().await;
    let pool = Pool::builder("model")
        .endpoint("a", model(&server))
        .build(&rt)
        .await
        .unwrap();
    pool.call(ask(), CallContext::untracked()).await.unwrap();
    let text = rt.render_metrics();
    assert!(
        text.contains("bulwark_call_duration_seconds_count{dependency=\"model\",endpoint=\"a\"} 1"),
        "{text}"
    );
    assert_eq!(rt.dependency_names(), ["model/a"]);
    let snapshot = pool.snapshot();
    assert_eq!(&*snapshot.endpoints[0].endpoint, "a");
    assert_eq!(&*snapshot.endpoints[0].dependency.name, "model/a");
    rt.shutdown().await;
}

#[tokio::test]
async fn a_pool_is_refused_when_it_cannot_work() {
    use bulwark_runtime::pool::InvalidPool;
    let rt = runtime().await;
    let empty = Pool::<Model>::builder("empty").build(&rt).await;
    assert!(matches!(empty, Err(InvalidPool::NoEndpoints(_))));
    let twice = Pool::builder("twice")
        .endpoint("a", Model::builder("http://127.0.0.1:1").build().unwrap())
        .endpoint("a", Model::builder("http://127.0.0.1:2").build().unwrap())
        .build(&rt)
        .await;
    assert!(matches!(twice, Err(InvalidPool::DuplicateEndpoint { .. })));
    let hedging = Pool::builder("hedging")
        .endpoint("a", Model::builder("http://127.0.0.1:1").build().unwrap())
        .hedging(Hedging::fixed(Duration::from_millis(1)).max_share(0.0))
        .build(&rt)
        .await;
    assert!(matches!(hedging, Err(InvalidPool::Hedging(_))));
    rt.shutdown().await;
}

/// Per-call latencies, sorted.
async fn drive(
    pool: &Pool<Model>,
    workers: usize,
    calls_each: usize,
) -> (Vec<Duration>, Vec<String>) {
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(calls_each);
                for _ in 0..calls_each {
                    let start = Instant::now();
                    let served = pool.call(ask(), CallContext::untracked()).await.unwrap();
                    out.push((start.elapsed(), served.by));
                }
                out
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut answered_by = Vec::new();
    for task in tasks {
        for (latency, by) in task.await.unwrap() {
            latencies.push(latency);
            answered_by.push(by);
        }
    }
    latencies.sort();
    (latencies, answered_by)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hedging_cuts_the_tail_of_a_slow_endpoint() {
    // "slow": every 10th request takes 2 s (its p99 is 2 s), the rest 5 ms; "fast": always 5 ms.
    // The same traffic goes to a hedging pool and, for comparison, a plain one.
    let slow_upstream = || {
        let mut up = Upstream::new("slow");
        up.latency = Duration::from_millis(5);
        up.slow_every = 10;
        up.slow = Duration::from_secs(2);
        Arc::new(up)
    };
    let fast_upstream = || {
        let mut up = Upstream::new("fast");
        up.latency = Duration::from_millis(5);
        Arc::new(up)
    };
    let (slow, fast, slow_plain, fast_plain) = (
        slow_upstream(),
        fast_upstream(),
        slow_upstream(),
        fast_upstream(),
    );
    let servers = [
        serve(Arc::clone(&slow)).await,
        serve(Arc::clone(&fast)).await,
        serve(Arc::clone(&slow_plain)).await,
        serve(Arc::clone(&fast_plain)).await,
    ];
    let rt = runtime().await;
    let hedged = Pool::builder("hedged")
        .endpoint("slow", model(&servers[0]))
        .endpoint("fast", model(&servers[1]))
        .hedging(Hedging::fixed(Duration::from_millis(50)))
        .build(&rt)
        .await
        .unwrap();
    let plain = Pool::builder("plain")
        .endpoint("slow", model(&servers[2]))
        .endpoint("fast", model(&servers[3]))
        .build(&rt)
        .await
        .unwrap();

    let (workers, each) = (4, 100);
    let ((hedged_latencies, hedged_by), (plain_latencies, _)) =
        tokio::join!(drive(&hedged, workers, each), drive(&plain, workers, each));
    let calls = (workers * each) as u64;
    let stats = hedged.hedge_stats().unwrap();
    let slow_answers = hedged_by.iter().filter(|by| *by == "slow").count() as u32;
    let tail = |latencies: &[Duration]| {
        latencies
            .iter()
            .filter(|l| **l >= Duration::from_secs(1))
            .count()
    };
    println!(
        "hedged pool: p50 {:?}, p99 {:?}, max {:?}; {} hedges ({} won) in {calls} calls; \
         slow endpoint: {} requests, {} answers",
        percentile(&hedged_latencies, 0.50),
        percentile(&hedged_latencies, 0.99),
        hedged_latencies.last().unwrap(),
        stats.hedges,
        stats.hedge_wins,
        slow.hits(),
        slow_answers,
    );
    println!(
        "plain pool:  p50 {:?}, p99 {:?}, max {:?}; {} calls waited for the 2 s tail",
        percentile(&plain_latencies, 0.50),
        percentile(&plain_latencies, 0.99),
        plain_latencies.last().unwrap(),
        tail(&plain_latencies),
    );

    assert_eq!(stats.calls, calls);
    // Without hedging, the slow endpoint's tail reaches callers …
    assert!(tail(&plain_latencies) > 0);
    // … with hedging, (almost) none waits for it: hedges answer instead.
    assert!(
        tail(&hedged_latencies) <= (calls / 100) as usize,
        "{} calls waited for the tail",
        tail(&hedged_latencies)
    );
    assert!(stats.hedge_wins > 0);
    assert!(
        slow_answers < slow.hits(),
        "the slow endpoint answers less than it is asked"
    );
    // The cap: 10 % of requests (concurrent withdrawals may overdraw by one each).
    assert!(
        stats.hedges <= calls / 10 + workers as u64,
        "{} hedges",
        stats.hedges
    );
    rt.shutdown().await;
}
