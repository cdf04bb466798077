//! `GET /metrics`: the process's Prometheus recorder, plus the histograms the runtime keeps
//! itself ([`Runtime::render_metrics`](bulwark_runtime::runtime::Runtime::render_metrics)), in
//! the Prometheus text format.
//!
//! [`recorder`] installs one recorder per process on first use (later calls share it). When
//! another recorder was installed first — an embedding application's own — Bulwark does not
//! replace it: the metrics go there, and `/metrics` shows only the runtime's histograms.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::http_metrics;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the recorder's histograms are compacted when nothing scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder handle, installing the recorder on first use.
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(http_metrics::names::HTTP_REQUEST_DURATION_SECONDS.to_owned()),
                    http_metrics::DURATION_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was installed before Bulwark's: /metrics shows only the \
                     runtime's own histograms"
                );
            }
            spawn_upkeep(handle.clone());
            bulwark_runtime::dependency::describe_metrics();
            http_metrics::describe();
            crate::jobs::metrics::describe();
            crate::nats::requests::describe();
            handle
        })
        .clone()
}

/// Compacts the recorder's histograms every [`UPKEEP_INTERVAL`] for the life of the process, so
/// their samples never pile up between scrapes (or when nothing scrapes: an embedder, a test, a
/// benchmark). A thread of its own, like the recorder: it works whichever runtime serves.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("bulwark-metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start the metrics upkeep thread: histograms compact on scrape only");
    }
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Every series, Prometheus text format", content_type = "text/plain", body = String))
)]
pub async fn metrics(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    _: super::extract::NoQuery,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut text = state.prometheus().render();
    text.push_str(&state.runtime().render_metrics());
    ([(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}
