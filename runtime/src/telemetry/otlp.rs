//! OTLP trace export: the endpoint check, the exporter (HTTP/protobuf over reqwest and rustls on
//! `ring`), the tracer provider with its batch processor on tokio, and the guard that flushes it.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tokio::runtime::{Handle, RuntimeFlavor};
use tracing_subscriber::EnvFilter;
use url::Url;

use super::TelemetryError;
use super::config::TelemetryConfig;

/// The path of the traces signal on an OTLP/HTTP collector.
const TRACES_PATH: &str = "/v1/traces";

/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The instrumentation scope name of Bulwark's tracer.
const TRACER_NAME: &str = "bulwark";

/// What the OpenTelemetry layer of [`subscriber_with`](super::subscriber_with) needs: a tracer and
/// the filter choosing which spans it sees.
#[derive(Debug)]
pub struct TraceExport {
    pub(super) tracer: SdkTracer,
    pub(super) filter: EnvFilter,
}

impl TraceExport {
    /// Spans chosen by `filter` go to `provider` (for tests: a provider over the SDK's in-memory
    /// exporter).
    pub fn new(provider: &SdkTracerProvider, filter: EnvFilter) -> Self {
        Self {
            tracer: provider.tracer(TRACER_NAME),
            filter,
        }
    }
}

/// The endpoint of `config`, checked: `None` when export is off; with a base URL (no path), the
/// traces path is appended.
pub fn otlp_endpoint(config: &TelemetryConfig) -> Result<Option<Url>, TelemetryError> {
    let Some(text) = config
        .otlp_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let mut url = Url::parse(text).map_err(|source| TelemetryError::InvalidEndpoint {
        endpoint: text.to_owned(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(TelemetryError::UnsupportedEndpoint {
            endpoint: text.to_owned(),
        });
    }
    if url.path() == "/" {
        url.set_path(TRACES_PATH);
    }
    Ok(Some(url))
}

/// Builds the exporting tracer provider for `endpoint`. Must run inside a tokio runtime (the
/// batch processor is a task on it).
pub(super) fn provider(
    endpoint: &Url,
    service_name: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    if Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let tls = crate::http::tls_client_config().map_err(TelemetryError::Tls)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(EXPORT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(TelemetryError::Client)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(TelemetryError::Exporter)?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

/// Keeps trace export running; [`shutdown`](Self::shutdown) flushes the spans still queued and
/// stops it. Dropping the guard does the same as well as it can (without waiting on a
/// single-threaded runtime, which would deadlock). Without export the guard does nothing.
#[derive(Debug, Default)]
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub(super) fn exporting(provider: SdkTracerProvider) -> Self {
        Self {
            provider: Some(provider),
        }
    }

    /// Whether spans are being exported (an OpenTelemetry layer is installed).
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still queued and stops the exporter; call before the runtime ends.
    pub async fn shutdown(mut self) -> Result<(), TelemetryError> {
        let Some(provider) = self.provider.take() else {
            return Ok(());
        };
        // The SDK blocks the calling thread until its batch task answers: off the workers.
        tokio::task::spawn_blocking(move || provider.shutdown())
            .await
            .map_err(|_| TelemetryError::ShutdownInterrupted)?
            .map_err(TelemetryError::Shutdown)
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => {
                let _ = tokio::task::block_in_place(|| provider.shutdown());
            }
            // The batch task runs on this very thread: shut down from another one, unawaited.
            Ok(_) => {
                let _ = std::thread::Builder::new()
                    .name("otel-shutdown".into())
                    .spawn(move || provider.shutdown());
            }
            Err(_) => {
                let _ = provider.shutdown();
            }
        }
    }
}
