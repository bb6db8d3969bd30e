//! Fields of spans and events as OpenTelemetry attributes: one visitor for both, writing
//! each value once into the attribute that keeps it.

use std::fmt;

use opentelemetry::{Key, KeyValue, Value};
use tracing::field::{Field, Visit};

use super::record::Record;

/// Where a visitor puts a span's or an event's fields.
pub(super) trait FieldSink {
    fn put(&mut self, field: &Field, value: Value);
    fn put_text(&mut self, field: &Field, text: String) {
        self.put(field, Value::String(text.into()));
    }
}

/// Fields as OTel attributes, whoever keeps them.
pub(super) struct Visitor<'a, A>(pub(super) &'a mut A);

impl<A: FieldSink> Visit for Visitor<'_, A> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.put(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.put(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        // OTLP has no unsigned integer: one beyond `i64` is kept as its decimal text.
        match i64::try_from(value) {
            Ok(v) => self.0.put(field, Value::I64(v)),
            Err(_) => self.0.put_text(field, value.to_string()),
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.put(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.put_text(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.put_text(field, debug_text(value));
    }
}

/// A span's fields.
impl FieldSink for Record {
    fn put(&mut self, field: &Field, value: Value) {
        if self.attributes.len() >= super::MAX_ATTRIBUTES {
            self.dropped_attributes += 1;
            return;
        }
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

/// An event's fields: its message names it, the rest are attributes.
pub(super) struct EventFields {
    pub(super) name: Option<String>,
    pub(super) attributes: Vec<KeyValue>,
}

impl FieldSink for EventFields {
    fn put(&mut self, field: &Field, value: Value) {
        if self.attributes.len() < super::MAX_ATTRIBUTES {
            self.attributes
                .push(KeyValue::new(Key::from_static_str(field.name()), value));
        }
    }
    fn put_text(&mut self, field: &Field, text: String) {
        if field.name() == "message" {
            self.name = Some(text);
        } else {
            self.put(field, Value::String(text.into()));
        }
    }
}

/// A field's text. `format!` cannot estimate the length of a lone `{:?}` and grows its
/// string from nothing (four reallocations for a UUID); most of our values are UUIDs and
/// names, which fit here at once.
fn debug_text(value: &dyn fmt::Debug) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(40);
    let _ = write!(text, "{value:?}");
    text
}
