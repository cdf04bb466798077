//! Adaptive concurrency: the TOML switch, AIMD through a handle on paused time, and Gradient2
//! following a real loopback endpoint that slows down and recovers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod loopback;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use bulwark_runtime::bulkhead::{
    AdaptiveAlgorithm, AdaptiveConfig, BulkheadConfig, ClassLimits, Priority,
};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{BreakerCommand, DependencyHandle, metric_names};
use bulwark_runtime::http::{HttpDependency, HttpRequest};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::prelude::*;
use bulwark_runtime::retry::RetryPolicy;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{Scripted, Shared};
use tokio::sync::watch;

#[test]
fn the_policy_turns_it_on() {
    let policy = Policy::from_toml(
        r#"
        [bulkhead]
        non_critical = { max_concurrent = 16, max_queue = 16 }
        adaptive = "gradient"
        adaptive_floor = 2
        adaptive_window = "250ms"
        adaptive_min_samples = 20
        "#,
    )
    .unwrap();
    let adaptive = policy.bulkhead.adaptive();
    assert_eq!(adaptive.algorithm, AdaptiveAlgorithm::Gradient);
    assert_eq!(adaptive.floor, 2);
    assert_eq!(adaptive.window, Duration::from_millis(250));
    assert_eq!(adaptive.min_samples, 20);
    let text = toml::to_string(&policy).unwrap();
    assert_eq!(Policy::from_toml(&text).unwrap(), policy);

    let aimd =
        Policy::from_toml("[bulkhead]\nadaptive = \"aimd\"\nadaptive_latency = \"2s\"\n").unwrap();
    assert_eq!(aimd.bulkhead.adaptive().algorithm, AdaptiveAlgorithm::Aimd);
    assert_eq!(
        aimd.bulkhead.adaptive().latency_threshold,
        Duration::from_secs(2)
    );
    assert!(!Policy::default().bulkhead.adaptive().is_on());

    for bad in [
        "adaptive = \"gradient\"\nadaptive_floor = 0",
        "adaptive = \"gradient\"\nadaptive_floor = 40",
        "adaptive = \"aimd\"\nadaptive_min_samples = 0",
        "adaptive = \"vegas\"",
    ] {
        let err = Policy::from_toml(&format!("[bulkhead]\n{bad}\n")).unwrap_err();
        let text = bulwark_runtime::error::chain(&err).to_string();
        assert!(text.contains("adaptive"), "{bad}: {text}");
    }
}

fn limit<D: bulwark_runtime::dependency::Dependency>(dep: &DependencyHandle<D>) -> u32 {
    dep.snapshot().bulkhead.non_critical.max_concurrent
}

#[tokio::test(start_paused = true)]
async fn aimd_backs_off_on_drops_and_climbs_back() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let script = Arc::new(Scripted::default());
    script.latency_ms.store(10, Ordering::SeqCst);
    let policy = Policy {
        bulkhead: BulkheadConfig::builder()
            .non_critical(ClassLimits {
                max_concurrent: 10,
                max_queue: 64,
            })
            .adaptive(AdaptiveConfig {
                algorithm: AdaptiveAlgorithm::Aimd,
                floor: 2,
                window: Duration::from_millis(100),
                min_samples: 5,
                ..AdaptiveConfig::default()
            })
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("dep", Shared(Arc::clone(&script)), policy)
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Shared>("dep").unwrap();
    // The breaker would open on the failures; this test is about the limit.
    dep.command(BreakerCommand::Disable).await.unwrap();
    let workers: Vec<_> = (0..10)
        .map(|_| {
            let dep = dep.clone();
            tokio::spawn(async move {
                loop {
                    let _ = dep.call(1, CallContext::untracked()).await;
                }
            })
        })
        .collect();
    let wait_for = |target: u32| {
        let dep = dep.clone();
        async move {
            for _ in 0..1_000 {
                if limit(&dep) == target {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("limit stuck at {}, expected {target}", limit(&dep));
        }
    };

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(limit(&dep), 10, "healthy: at the maximum");
    // Transient failures are drops: ×0.9 per window, down to the floor.
    script.fail_next.store(u32::MAX, Ordering::SeqCst);
    wait_for(2).await;
    // The gauge follows (refreshed by the actor's housekeeping tick).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gauge = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| {
            let key_matches = key.kind() == MetricKind::Gauge
                && key.key().name() == metric_names::BULKHEAD_LIMIT
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "dependency" && l.value() == "dep")
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "priority" && l.value() == "non_critical");
            match value {
                DebugValue::Gauge(g) if key_matches => Some(g.into_inner()),
                _ => None,
            }
        });
    assert_eq!(gauge, Some(2.0));
    // Healthy again: +1 per window back to the maximum.
    script.fail_next.store(0, Ordering::SeqCst);
    wait_for(10).await;
    assert_eq!(
        dep.snapshot().bulkhead.critical.max_concurrent,
        32,
        "the idle class kept its limit"
    );
    workers.iter().for_each(|w| w.abort());
    rt.shutdown().await;
}

#[derive(Default)]
struct Slowing {
    latency_ms: AtomicU64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Empty {}

/// Waits (at most a minute) until the workers report progress that satisfies `done`.
async fn wait_for(
    rx: &mut watch::Receiver<(u64, u32)>,
    what: &str,
    done: impl Fn(u64, u32) -> bool,
) -> (u64, u32) {
    let waited =
        tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|(n, l)| done(*n, *l))).await;
    match waited {
        Ok(Ok(progress)) => *progress,
        _ => panic!("timed out waiting for {what}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gradient_limit_falls_when_an_endpoint_slows_and_rises_when_it_recovers() {
    let upstream = Arc::new(Slowing::default());
    upstream.latency_ms.store(5, Ordering::SeqCst);
    let app = axum::Router::new()
        .route(
            "/work",
            post(|State(up): State<Arc<Slowing>>| async move {
                let ms = up.latency_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Json(Empty {})
            }),
        )
        .with_state(Arc::clone(&upstream));
    let server = loopback::serve(app).await;
    let max = 16;
    let policy = Policy {
        bulkhead: BulkheadConfig::builder()
            .non_critical(ClassLimits {
                max_concurrent: max,
                max_queue: 64,
            })
            .adaptive(AdaptiveConfig {
                algorithm: AdaptiveAlgorithm::Gradient,
                floor: 2,
                window: Duration::from_millis(20),
                min_samples: 10,
                ..AdaptiveConfig::default()
            })
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    type Work = HttpDependency<Empty, Empty>;
    let dep = Work::builder(server.url()).build().unwrap();
    let rt = Runtime::builder()
        .dependency("work", dep, policy)
        .build()
        .await
        .unwrap();
    let handle = rt.handle::<Work>("work").unwrap();

    // Workers report (calls so far, limit) after every call; the test waits on that.
    let (progress, mut watch_progress) = watch::channel((0u64, max));
    let progress = Arc::new(progress);
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..max)
        .map(|_| {
            let (handle, progress, calls) =
                (handle.clone(), Arc::clone(&progress), Arc::clone(&calls));
            tokio::spawn(async move {
                loop {
                    let request = HttpRequest::post("/work", Empty {});
                    let _ = handle
                        .call(
                            request,
                            CallContext::untracked().with_priority(Priority::NonCritical),
                        )
                        .await;
                    let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.send_replace((n, limit(&handle)));
                }
            })
        })
        .collect();
    // Fast (5 ms): enough windows for a baseline, at the maximum (scheduling noise on a busy
    // machine may shave a little off for a few windows; flat latency brings it back).
    wait_for(&mut watch_progress, "a baseline at the maximum", |n, l| {
        n >= 2_000 && l == max
    })
    .await;
    // Slow (100 ms, 20×): the limit falls.
    upstream.latency_ms.store(100, Ordering::SeqCst);
    let (at, lowest) = wait_for(&mut watch_progress, "the limit to fall", |_, l| {
        l <= max * 3 / 4
    })
    .await;
    // Fast again: it climbs back to the maximum.
    upstream.latency_ms.store(5, Ordering::SeqCst);
    let (back, _) = wait_for(&mut watch_progress, "the limit to recover", |_, l| l == max).await;
    println!("gradient: fell to {lowest} after {at} calls, back to {max} after {back}");
    workers.iter().for_each(|w| w.abort());
    rt.shutdown().await;
}
