//! [`CorrelationLayer`]: remembers the `correlation_id` field of each span, so every event inside
//! it can be written with the ID at the top level of its line.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::correlation::CORRELATION_FIELD;

/// Remembers the `correlation_id` field of each span that has one.
#[derive(Debug, Clone, Copy)]
pub struct CorrelationLayer;

/// The correlation ID recorded on a span, kept in the span's extensions.
pub(super) struct SpanCorrelation(pub(super) String);

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
