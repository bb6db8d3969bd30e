//! `LOG_FORMAT=json`: one JSON object a line, carrying the current span's fields and its
//! OpenTelemetry trace and span ids, so a log line can be joined to its trace.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy)]
pub(super) struct JsonWithTrace;

impl<S, N> FormatEvent<S, N> for JsonWithTrace
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
        let mut fields = FieldMap::default();
        event.record(&mut fields);

        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(crate::time::rfc3339_now()),
        );
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        if let Some(message) = fields.0.remove("message") {
            line.insert("message".into(), message);
        }
        line.insert("fields".into(), Value::Object(fields.0));

        if let Some(scope) = ctx.event_scope() {
            let mut spans = Vec::new();
            let mut current_id = None;
            for span in scope.from_root() {
                let mut entry = Map::new();
                entry.insert("name".into(), Value::String(span.name().to_owned()));
                if let Some(formatted) = span.extensions().get::<FormattedFields<N>>() {
                    if let Ok(Value::Object(f)) = serde_json::from_str::<Value>(formatted) {
                        entry.extend(f);
                    }
                }
                current_id = Some(span.id());
                spans.push(Value::Object(entry));
            }
            if let Some(last) = spans.last().cloned() {
                line.insert("span".into(), last);
            }
            line.insert("spans".into(), Value::Array(spans));
            // Extensions are released above: reading the OTel context locks them again.
            if let Some((trace_id, span_id)) = current_id.and_then(|id| trace_ids(&id)) {
                line.insert("trace_id".into(), Value::String(trace_id));
                line.insert("span_id".into(), Value::String(span_id));
            }
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// The trace and span ids of span `id`, as hex, when it has a valid OTel context. Call it
/// with the span's extensions released: it locks them again.
pub(super) fn trace_ids(id: &tracing::span::Id) -> Option<(String, String)> {
    let sc = tracing::dispatcher::get_default(|d| super::otel_layer::span_context(d, id))?;
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[derive(Default)]
pub(super) struct FieldMap(pub(super) Map<String, Value>);

impl Visit for FieldMap {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}
