//! The runtime's metrics, read back from a recorder installed for this test binary only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bulwark_runtime::dependency::metric_names as names;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use support::{Scripted, Shared, ctx, no_retry_policy, runtime_with};

type Entry = (
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

/// Reads every metric once (the debugging recorder resets counters when read).
fn read(snapshotter: &Snapshotter) -> Vec<Entry> {
    snapshotter.snapshot().into_vec()
}

fn value(snapshot: &[Entry], kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snapshot
        .iter()
        .find(|(key, _, _, _)| {
            key.kind() == kind
                && key.key().name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(_, _, _, v)| match v {
            DebugValue::Counter(c) => *c as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(h) => h.len() as f64,
        })
}

#[tokio::test(start_paused = true)]
async fn calls_durations_and_circuit_state_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let script = Arc::new(Scripted::default());
    let rt = runtime_with(Arc::clone(&script), no_retry_policy()).await;
    let dep = rt.handle::<Shared>("dep").unwrap();
    for i in 0..5 {
        dep.call(i, ctx()).await.unwrap();
    }
    script.fail_next.store(u32::MAX, Ordering::SeqCst);
    support::trip(&dep).await;
    let _ = dep.call(1, ctx()).await;
    // Counts kept on per-thread stripes reach the recorder when the actor drains them.
    dep.flush().await.unwrap();

    let snapshot = read(&snapshotter);
    let snapshotter = &snapshot[..];
    let c = MetricKind::Counter;
    let dep_label = ("dependency", "dep");
    assert_eq!(
        value(
            snapshotter,
            c,
            names::CALLS_TOTAL,
            &[dep_label, ("outcome", "success")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(
            snapshotter,
            c,
            names::CALLS_TOTAL,
            &[dep_label, ("outcome", "failure")]
        ),
        Some(10.0)
    );
    assert_eq!(
        value(
            snapshotter,
            c,
            names::CALLS_TOTAL,
            &[dep_label, ("outcome", "circuit_open")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            snapshotter,
            MetricKind::Gauge,
            names::CIRCUIT_STATE,
            &[dep_label]
        ),
        Some(1.0),
        "open = 1"
    );
    assert_eq!(
        value(
            snapshotter,
            c,
            names::CIRCUIT_TRANSITIONS_TOTAL,
            &[dep_label, ("from", "closed"), ("to", "open")]
        ),
        Some(1.0)
    );
    let text = rt.render_metrics();
    assert!(
        text.contains("bulwark_call_duration_seconds_count{dependency=\"dep\"} 15\n"),
        "one duration per attempt:\n{text}"
    );
    assert!(text.contains("# TYPE bulwark_call_duration_seconds histogram\n"));
    rt.shutdown().await;
}
