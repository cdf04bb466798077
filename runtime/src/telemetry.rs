//! Telemetry start-up: structured logs with the correlation ID on every line.
//!
//! [`init`] installs one global `tracing` subscriber for the process:
//!
//! - **JSON lines** by default ([`LogFormat::Json`]), one object per event with `timestamp`
//!   (RFC 3339 UTC, microseconds), `level`, `target`, `message`, the event's own fields flattened,
//!   `span` (innermost span name), `spans` (root to leaf, joined by `>`) and `correlation_id`
//!   whenever the event happens inside a span that carries a `correlation_id` field (the gateway's
//!   request span, [`Envelope::span`](crate::correlation::Envelope::span)). [`LogFormat::Text`] is
//!   the human-readable alternative.
//! - **Filtering** with `RUST_LOG` syntax: the `RUST_LOG` environment variable, when set, overrides
//!   the default filter handed to [`init`].
//! - Lines go to **standard error**, so standard output stays free for a command's own output
//!   (reports, `--json`).
//! - Panics are logged as `ERROR` events through the same subscriber (inside the panicking
//!   thread's span, so with its correlation ID), instead of the default hook's plain-text stderr.
//!
//! # Secrets are never logged
//!
//! The rule for all Bulwark code: never log request or response bodies, headers, credentials,
//! passwords, tokens, API keys or connection strings that may hold a password. Log identifiers
//! (correlation ID, dependency name, user ID), sizes, statuses and durations instead. As a safety
//! net the JSON format writes `"[redacted]"` for any event field whose name contains `password`,
//! `secret`, `token`, `authorization`, `cookie`, `credential` or `api_key`; the rule, not the net,
//! is the protection.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::correlation::CORRELATION_FIELD;
use crate::error::Timestamp;

/// How log lines are written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (the default; for machines and log shippers).
    #[default]
    Json,
    /// Human-readable text lines.
    Text,
}

impl LogFormat {
    /// The name used on the command line and in config files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was neither `json` nor `text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?}: expected `json` or `text`")]
pub struct ParseLogFormatError(String);

impl FromStr for LogFormat {
    type Err = ParseLogFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err(ParseLogFormatError(s.to_owned())),
        }
    }
}

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
}

/// Installs the process-wide subscriber writing to standard error, and a panic hook that logs
/// through it. Call once, early in `main`.
///
/// `default_filter` (e.g. `"info"` or `"info,bulwark_runtime=debug"`) applies unless `RUST_LOG`
/// is set and non-empty.
pub fn init(format: LogFormat, default_filter: &str) -> Result<(), TelemetryError> {
    let env = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = filter(env.as_deref(), default_filter)?;
    let ansi = format == LogFormat::Text && std::io::stderr().is_terminal();
    subscriber(format, filter, std::io::stderr, ansi)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    std::panic::set_hook(Box::new(log_panic));
    Ok(())
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
    type Base = tracing_subscriber::layer::Layered<
        CorrelationLayer,
        tracing_subscriber::layer::Layered<EnvFilter, Registry>,
    >;
    let output: Box<dyn Layer<Base> + Send + Sync> = match format {
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
    };
    Registry::default()
        .with(filter)
        .with(CorrelationLayer)
        .with(output)
}

fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-text panic payload)");
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(panic.message = message, panic.location = %location, "panic");
}

/// Remembers the `correlation_id` field of each span that has one.
#[derive(Debug, Clone, Copy)]
pub struct CorrelationLayer;

/// The correlation ID recorded on a span, kept in the span's extensions.
struct SpanCorrelation(String);

impl<S> Layer<S> for CorrelationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().fields().field(CORRELATION_FIELD).is_none() {
            return;
        }
        let mut visitor = CorrelationVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(value), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(SpanCorrelation(value));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let mut visitor = CorrelationVisitor(None);
        values.record(&mut visitor);
        if let (Some(value), Some(span)) = (visitor.0, ctx.span(id)) {
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<SpanCorrelation>() {
                Some(existing) => existing.0 = value,
                None => extensions.insert(SpanCorrelation(value)),
            }
        }
    }
}

struct CorrelationVisitor(Option<String>);

impl Visit for CorrelationVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == CORRELATION_FIELD {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == CORRELATION_FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// Keys the formatter writes itself; an event field of the same name is written as `field.<name>`.
const RESERVED: [&str; 6] = [
    "timestamp",
    "level",
    "target",
    "span",
    "spans",
    CORRELATION_FIELD,
];

/// Field-name fragments whose values are never written.
const SECRET_MARKERS: [&str; 7] = [
    "password",
    "secret",
    "token",
    "authorization",
    "cookie",
    "credential",
    "api_key",
];

/// Writes each event as one JSON object on one line.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Timestamp::now().to_string().into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            let mut names = Vec::new();
            let mut correlation = None;
            for span in scope {
                names.push(span.name());
                if correlation.is_none() {
                    correlation = span
                        .extensions()
                        .get::<SpanCorrelation>()
                        .map(|c| c.0.clone());
                }
            }
            if let Some(innermost) = names.first() {
                line.insert("span".into(), (*innermost).into());
            }
            names.reverse();
            line.insert("spans".into(), names.join(">").into());
            if let Some(id) = correlation {
                line.insert(CORRELATION_FIELD.into(), id.into());
            }
        }
        let mut fields = JsonFields(&mut line);
        event.record(&mut fields);
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Flattens an event's fields into the line, redacting secrets.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl JsonFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let lower = name.to_ascii_lowercase();
        let value = if SECRET_MARKERS.iter().any(|m| lower.contains(m)) {
            Value::from("[redacted]")
        } else {
            value
        };
        let key = if RESERVED.contains(&name) {
            format!("field.{name}")
        } else {
            name.to_owned()
        };
        self.0.insert(key, value);
    }
}

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, text.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

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
    fn envelope_spans_carry_the_correlation_id() {
        let envelope = crate::correlation::Envelope::new(
            crate::correlation::CorrelationId::parse("env-1").unwrap(),
            (),
        );
        let buffer = capture(LogFormat::Json, "info", || {
            envelope.span("work").in_scope(|| info!("working"));
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
