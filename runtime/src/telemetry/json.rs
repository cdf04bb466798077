//! The JSON lines writer: one object per event, the correlation ID at the top level, secrets
//! redacted.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::correlation::SpanCorrelation;
use crate::correlation::CORRELATION_FIELD;
use crate::error::Timestamp;

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
pub(super) struct JsonLines;

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
        self.put(field, crate::error::chain(value).to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}
