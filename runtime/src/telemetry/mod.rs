//! Telemetry start-up: structured logs with the correlation ID on every line.
//!
//! [`init`] installs one global `tracing` subscriber for the process:
//!
//! - **JSON lines** by default ([`LogFormat::Json`]), one object per event with `timestamp`
//!   (RFC 3339 UTC, microseconds), `level`, `target`, `message`, the event's own fields flattened,
//!   `span` (innermost span name), `spans` (root to leaf, joined by `>`) and `correlation_id`
//!   whenever the event happens inside a span that carries a `correlation_id` field (the gateway's
//!   request span, [`CallContext::span`](crate::dependency::CallContext::span)).
//!   [`LogFormat::Text`] is the human-readable alternative.
//! - **Filtering** with `RUST_LOG` syntax: the `RUST_LOG` environment variable, when set, overrides
//!   the default filter handed to [`init`].
//! - Lines go to **standard error**, so standard output stays free for a command's own output
//!   (reports, `--json`).
//! - Panics are logged as `ERROR` events through the same subscriber (inside the panicking
//!   thread's span, so with its correlation ID), instead of the default hook's plain-text stderr.
//! - **Traces** ([`init_with`]): when [`TelemetryConfig::otlp_endpoint`] is set, an OpenTelemetry
//!   layer exports spans over OTLP/HTTP (protobuf) — the gateway's `request` span (continuing the
//!   client's W3C `traceparent`, see [`continue_trace`]) and the guard's `dependency.attempt`
//!   spans (dependency, attempt, outcome, breaker state, correlation ID). It has its own filter
//!   ([`TelemetryConfig::filter`]), so logging stays as configured. Unset, no layer is installed.
//!
//! # Secrets are never logged
//!
//! The rule for all Bulwark code: never log request or response bodies, headers, credentials,
//! passwords, tokens, API keys or connection strings that may hold a password. Log identifiers
//! (correlation ID, dependency name, user ID), sizes, statuses and durations instead. As a safety
//! net the JSON format writes `"[redacted]"` for any event field whose name contains `password`,
//! `secret`, `token`, `authorization`, `cookie`, `credential` or `api_key`; the rule, not the net,
//! is the protection.

//!
//! One concern per file: `format.rs` ([`LogFormat`]), `correlation.rs` (the layer that remembers
//! each span's correlation ID), `json.rs` (the JSON lines writer and its redaction), `panic.rs`
//! (the panic hook), `config.rs` ([`TelemetryConfig`]), `otlp.rs` (the exporter and its
//! [`TelemetryGuard`]), `propagation.rs` (W3C trace context in and out); this file builds the
//! filters and installs the subscriber.
mod config;
mod correlation;
mod format;
mod json;
mod otlp;
mod panic;
mod propagation;

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use config::{DEFAULT_SERVICE_NAME, DEFAULT_TRACE_FILTER, TelemetryConfig};
pub use correlation::CorrelationLayer;
pub use format::{LogFormat, ParseLogFormatError};
pub use otlp::{TelemetryGuard, TraceExport, otlp_endpoint};
pub use propagation::{continue_trace, current_traceparent};

use json::JsonLines;

/// Telemetry could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// A filter directive (from `RUST_LOG` or the default) does not parse.
    #[error("invalid log filter {filter:?} (from {origin})")]
    InvalidFilter {
        /// The offending directive text.
        filter: String,
        /// Where it came from: `RUST_LOG` or `default`.
        origin: &'static str,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Another global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
    /// `[telemetry] otlp_endpoint` is not a URL.
    #[error("invalid `telemetry.otlp_endpoint` {endpoint:?}")]
    InvalidEndpoint {
        /// The configured text.
        endpoint: String,
        /// The parser's complaint.
        #[source]
        source: url::ParseError,
    },
    /// `[telemetry] otlp_endpoint` is a URL but not an `http` or `https` one with a host.
    #[error(
        "unsupported `telemetry.otlp_endpoint` {endpoint:?}: expected an http:// or https:// URL"
    )]
    UnsupportedEndpoint {
        /// The configured text.
        endpoint: String,
    },
    /// The trace filter (`[telemetry] filter`) does not parse.
    #[error("invalid `telemetry.filter` {filter:?}")]
    InvalidTraceFilter {
        /// The offending directive text.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Trace export must be started inside a tokio runtime (its batch processor is a task).
    #[error("trace export must be started inside a tokio runtime")]
    NoRuntime,
    /// The TLS configuration of the exporter's client could not be built.
    #[error("cannot set up TLS for the OTLP exporter")]
    Tls(#[source] rustls::Error),
    /// The exporter's HTTP client could not be built.
    #[error("cannot build the OTLP exporter's HTTP client")]
    Client(#[source] reqwest::Error),
    /// The OTLP exporter refused its configuration.
    #[error("cannot build the OTLP span exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
    /// Flushing or stopping the exporter failed (spans may be lost).
    #[error("trace export did not shut down cleanly")]
    Shutdown(#[source] opentelemetry_sdk::error::OTelSdkError),
    /// The task stopping the exporter was cancelled or panicked.
    #[error("trace export shutdown was interrupted")]
    ShutdownInterrupted,
}

/// Installs the process-wide subscriber writing to standard error, and a panic hook that logs
/// through it. Call once, early in `main`.
///
/// `default_filter` (e.g. `"info"` or `"info,bulwark_runtime=debug"`) applies unless `RUST_LOG`
/// is set and non-empty.
pub fn init(format: LogFormat, default_filter: &str) -> Result<(), TelemetryError> {
    // Without an endpoint the guard holds nothing.
    let _guard = init_with(format, default_filter, &TelemetryConfig::default())?;
    Ok(())
}

/// [`init`], plus trace export when `telemetry.otlp_endpoint` is set. Everything is checked
/// before anything is installed: an invalid endpoint or trace filter is an error here, never a
/// silent lack of traces. With export, call inside a tokio runtime and keep the returned guard
/// until exit ([`TelemetryGuard::shutdown`] flushes the last spans).
pub fn init_with(
    format: LogFormat,
    default_filter: &str,
    telemetry: &TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    let env = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = filter(env.as_deref(), default_filter)?;
    let ansi = format == LogFormat::Text && std::io::stderr().is_terminal();
    let (traces, guard) = match trace_export(telemetry)? {
        None => (None, TelemetryGuard::default()),
        Some((traces, guard)) => (Some(traces), guard),
    };
    subscriber_with(format, filter, std::io::stderr, ansi, traces)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    std::panic::set_hook(Box::new(panic::log_panic));
    Ok(guard)
}

/// The trace export `telemetry` asks for, ready to hand to [`subscriber_with`] (for embedders who
/// install their own subscriber): `None` when `otlp_endpoint` is unset. Checks the endpoint and
/// the trace filter; with an endpoint, call inside a tokio runtime.
pub fn trace_export(
    telemetry: &TelemetryConfig,
) -> Result<Option<(TraceExport, TelemetryGuard)>, TelemetryError> {
    let Some(endpoint) = otlp_endpoint(telemetry)? else {
        return Ok(None);
    };
    let filter = trace_filter(&telemetry.filter)?;
    let provider = otlp::provider(&endpoint, &telemetry.service_name)?;
    let traces = TraceExport::new(&provider, filter);
    Ok(Some((traces, TelemetryGuard::exporting(provider))))
}

/// Parses the filter choosing which spans are exported (`RUST_LOG` syntax; `RUST_LOG` itself does
/// not change it).
pub fn trace_filter(text: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(text)
        .map_err(|source| TelemetryError::InvalidTraceFilter {
            filter: text.to_owned(),
            source,
        })
}

/// Builds the filter: `env` (the value of `RUST_LOG`) when set and non-empty, else `default`.
pub fn filter(env: Option<&str>, default: &str) -> Result<EnvFilter, TelemetryError> {
    let (text, origin) = match env.map(str::trim) {
        Some(value) if !value.is_empty() => (value, "RUST_LOG"),
        _ => (default, "default"),
    };
    EnvFilter::builder()
        .parse(text)
        .map_err(|source| TelemetryError::InvalidFilter {
            filter: text.to_owned(),
            origin,
            source,
        })
}

/// The subscriber [`init`] installs, writing to `writer`; exposed so tests and embedders can
/// capture output (with `tracing::subscriber::with_default`) or install it their own way.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber_with(format, filter, writer, ansi, None)
}

/// [`subscriber`] with an optional OpenTelemetry layer ([`TraceExport`]).
///
/// The log output and the trace layer each have their own filter (per-layer filtering): a span
/// exists only when one of them wants it, so logging at `info` never creates the `debug`
/// attempt spans unless they are exported. With `traces` absent, no OpenTelemetry layer exists.
pub fn subscriber_with<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
    traces: Option<TraceExport>,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let logs = CorrelationLayer.and_then(output(format, writer, ansi));
    let traces = traces.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t.tracer)
            .with_filter(t.filter)
    });
    Registry::default()
        .with(logs.with_filter(filter))
        .with(traces)
}

/// The log writer of `format`.
fn output<S, W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(writer),
        ),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(writer),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing::{info, info_span, warn};

    use super::*;

    /// Collects everything written into one buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        fn json_lines(&self) -> Vec<Value> {
            self.text()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn capture(format: LogFormat, filter_text: &str, body: impl FnOnce()) -> Buffer {
        let buffer = Buffer::default();
        let sub = subscriber(
            format,
            filter(None, filter_text).unwrap(),
            buffer.clone(),
            false,
        );
        tracing::subscriber::with_default(sub, body);
        buffer
    }

    #[test]
    fn every_json_line_inside_a_request_span_has_the_correlation_id() {
        let buffer = capture(LogFormat::Json, "debug", || {
            info!("before");
            let request = info_span!("request", correlation_id = %"req-7", path = "/v1/x");
            request.in_scope(|| {
                info!(status = 200u64, "inside");
                info_span!("attempt", dependency = "llm").in_scope(|| warn!("nested"));
            });
            info!("after");
        });
        let lines = buffer.json_lines();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].get("correlation_id").is_none());
        assert_eq!(lines[1]["correlation_id"], "req-7");
        assert_eq!(lines[1]["status"], 200);
        assert_eq!(lines[1]["span"], "request");
        assert_eq!(lines[2]["correlation_id"], "req-7");
        assert_eq!(lines[2]["spans"], "request>attempt");
        assert_eq!(lines[2]["level"], "WARN");
        assert!(lines[3].get("correlation_id").is_none());
        for line in &lines {
            let ts = line["timestamp"].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
            assert!(line["message"].is_string());
        }
    }

    #[test]
    fn call_context_spans_carry_the_correlation_id() {
        let ctx = crate::dependency::CallContext::new(
            crate::correlation::CorrelationId::parse("env-1").unwrap(),
        );
        let buffer = capture(LogFormat::Json, "info", || {
            ctx.span("work").in_scope(|| info!("working"));
        });
        assert_eq!(buffer.json_lines()[0]["correlation_id"], "env-1");
    }

    #[test]
    fn a_correlation_id_recorded_later_is_used() {
        let buffer = capture(LogFormat::Json, "info", || {
            let span = info_span!("request", correlation_id = tracing::field::Empty);
            span.record("correlation_id", "late-1");
            span.in_scope(|| info!("x"));
        });
        assert_eq!(buffer.json_lines()[0]["correlation_id"], "late-1");
    }

    #[test]
    fn secret_looking_fields_are_redacted_and_reserved_names_kept() {
        let buffer = capture(LogFormat::Json, "info", || {
            info!(
                password = "hunter2",
                api_key = "k",
                user = "ann",
                level = 3u64,
                "login"
            );
        });
        let line = &buffer.json_lines()[0];
        assert_eq!(line["password"], "[redacted]");
        assert_eq!(line["api_key"], "[redacted]");
        assert_eq!(line["user"], "ann");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["field.level"], 3);
        assert!(!buffer.text().contains("hunter2"));
    }

    #[test]
    fn text_format_shows_the_correlation_id() {
        let buffer = capture(LogFormat::Text, "info", || {
            info_span!("request", correlation_id = %"abc-1").in_scope(|| info!("hello"));
        });
        let text = buffer.text();
        assert!(text.contains("correlation_id=abc-1"), "{text}");
        assert!(text.contains("hello"));
    }

    #[test]
    fn the_filter_drops_lower_levels_and_rust_log_overrides_the_default() {
        let buffer = capture(LogFormat::Json, "warn", || {
            info!("dropped");
            warn!("kept");
        });
        assert_eq!(buffer.json_lines().len(), 1);
        assert_eq!(
            filter(Some("debug"), "warn").unwrap().max_level_hint(),
            Some(tracing::level_filters::LevelFilter::DEBUG)
        );
        assert_eq!(
            filter(Some("  "), "warn").unwrap().max_level_hint(),
            Some(tracing::level_filters::LevelFilter::WARN)
        );
        assert!(matches!(
            filter(Some("[[["), "info"),
            Err(TelemetryError::InvalidFilter {
                origin: "RUST_LOG",
                ..
            })
        ));
    }

    #[test]
    fn log_format_parses_and_displays() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("TEXT".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert!("yaml".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::Text.to_string(), "text");
        assert_eq!(LogFormat::default(), LogFormat::Json);
    }
}
