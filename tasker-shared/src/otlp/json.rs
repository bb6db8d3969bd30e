//! `ExportTraceServiceRequest` in OTLP/JSON (the protobuf JSON mapping with OTLP's
//! exceptions: ids as hex, enums as numbers, 64-bit integers as strings), written as text
//! straight from `SpanData`, with no `serde_json::Value` tree in between.

use std::fmt::Write as _;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::traces::{distinct_scopes, flags, kind, unix_nanos};

/// Encodes `spans` under `resource` as one OTLP/JSON `ExportTraceServiceRequest`.
pub fn encode_json(resource: &Resource, spans: &[SpanData]) -> String {
    let scopes: Vec<(&InstrumentationScope, String)> = distinct_scopes(spans)
        .into_iter()
        .map(|scope| {
            let mut body = String::with_capacity(spans.len() * 700);
            for span in spans.iter().filter(|s| &s.instrumentation_scope == scope) {
                encode_span_json(span, &mut body);
            }
            (scope, body)
        })
        .collect();
    let framed: Vec<(&InstrumentationScope, &str)> =
        scopes.iter().map(|(s, b)| (*s, b.as_str())).collect();
    frame_json(resource, &framed)
}

/// Appends one span object to `out`, after a comma when `out` already holds one, so that
/// spans encoded as they end are later framed whole by [`frame_json`].
pub fn encode_span_json(span: &SpanData, out: &mut String) {
    if !out.is_empty() {
        out.push(',');
    }
    span_object(out, span);
}

/// The request around span objects already written by [`encode_span_json`], one run of
/// them per instrumentation scope.
pub fn frame_json(resource: &Resource, scopes: &[(&InstrumentationScope, &str)]) -> String {
    let body: usize = scopes.iter().map(|(_, s)| s.len() + 128).sum();
    let mut o = String::with_capacity(256 + body);
    o.push_str(r#"{"resourceSpans":[{"resource":{"attributes":["#);
    for (i, (key, value)) in resource.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        key_value(&mut o, key.as_str(), value);
    }
    o.push_str("]}");
    if let Some(url) = resource.schema_url() {
        o.push_str(r#","schemaUrl":"#);
        string(&mut o, url);
    }
    o.push_str(r#","scopeSpans":["#);
    for (i, (scope, spans)) in scopes.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(r#"{"scope":{"name":"#);
        string(&mut o, scope.name());
        if let Some(v) = scope.version() {
            o.push_str(r#","version":"#);
            string(&mut o, v);
        }
        let attrs: Vec<&KeyValue> = scope.attributes().collect();
        if !attrs.is_empty() {
            o.push_str(r#","attributes":"#);
            attributes(&mut o, attrs);
        }
        o.push('}');
        if let Some(url) = scope.schema_url() {
            o.push_str(r#","schemaUrl":"#);
            string(&mut o, url);
        }
        o.push_str(r#","spans":["#);
        o.push_str(spans);
        o.push_str("]}");
    }
    o.push_str("]}]}");
    o
}

fn span_object(o: &mut String, span: &SpanData) {
    let cx = &span.span_context;
    let _ = write!(
        o,
        r#"{{"traceId":"{}","spanId":"{}""#,
        cx.trace_id(),
        cx.span_id()
    );
    let state = cx.trace_state().header();
    if !state.is_empty() {
        o.push_str(r#","traceState":"#);
        string(o, &state);
    }
    if span.parent_span_id != SpanId::INVALID {
        let _ = write!(o, r#","parentSpanId":"{}""#, span.parent_span_id);
    }
    let _ = write!(
        o,
        r#","flags":{},"name":"#,
        flags(cx.trace_flags().to_u8(), span.parent_span_is_remote)
    );
    string(o, &span.name);
    let _ = write!(
        o,
        r#","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":"#,
        kind(&span.span_kind),
        unix_nanos(span.start_time),
        unix_nanos(span.end_time)
    );
    attributes(o, &span.attributes);
    counted(o, "droppedAttributesCount", span.dropped_attributes_count);
    o.push_str(r#","events":["#);
    for (i, event) in span.events.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(
            o,
            r#"{{"timeUnixNano":"{}","name":"#,
            unix_nanos(event.timestamp)
        );
        string(o, &event.name);
        o.push_str(r#","attributes":"#);
        attributes(o, &event.attributes);
        counted(o, "droppedAttributesCount", event.dropped_attributes_count);
        o.push('}');
    }
    o.push(']');
    counted(o, "droppedEventsCount", span.events.dropped_count);
    o.push_str(r#","links":["#);
    for (i, link) in span.links.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let lcx = &link.span_context;
        let _ = write!(
            o,
            r#"{{"traceId":"{}","spanId":"{}","flags":{},"attributes":"#,
            lcx.trace_id(),
            lcx.span_id(),
            flags(lcx.trace_flags().to_u8(), lcx.is_remote())
        );
        attributes(o, &link.attributes);
        let state = lcx.trace_state().header();
        if !state.is_empty() {
            o.push_str(r#","traceState":"#);
            string(o, &state);
        }
        counted(o, "droppedAttributesCount", link.dropped_attributes_count);
        o.push('}');
    }
    o.push(']');
    counted(o, "droppedLinksCount", span.links.dropped_count);
    match &span.status {
        Status::Unset => o.push_str(r#","status":{}"#),
        Status::Ok => o.push_str(r#","status":{"code":1}"#),
        Status::Error { description } => {
            o.push_str(r#","status":{"code":2,"message":"#);
            string(o, description);
            o.push('}');
        }
    }
    o.push('}');
}

fn counted(o: &mut String, name: &str, n: u32) {
    if n > 0 {
        let _ = write!(o, r#","{name}":{n}"#);
    }
}

fn attributes<'a>(o: &mut String, kvs: impl IntoIterator<Item = &'a KeyValue>) {
    o.push('[');
    for (i, kv) in kvs.into_iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        key_value(o, kv.key.as_str(), &kv.value);
    }
    o.push(']');
}

fn key_value(o: &mut String, key: &str, value: &Value) {
    o.push_str(r#"{"key":"#);
    string(o, key);
    o.push_str(r#","value":"#);
    any_value(o, value);
    o.push('}');
}

fn any_value(o: &mut String, value: &Value) {
    match value {
        Value::String(s) => {
            o.push_str(r#"{"stringValue":"#);
            string(o, s.as_str());
            o.push('}');
        }
        Value::Bool(b) => {
            let _ = write!(o, r#"{{"boolValue":{b}}}"#);
        }
        Value::I64(i) => {
            let _ = write!(o, r#"{{"intValue":"{i}"}}"#);
        }
        Value::F64(f) => {
            o.push_str(r#"{"doubleValue":"#);
            double(o, *f);
            o.push('}');
        }
        Value::Array(array) => {
            o.push_str(r#"{"arrayValue":{"values":["#);
            let items: Vec<Value> = match array {
                Array::Bool(v) => v.iter().map(|b| Value::Bool(*b)).collect(),
                Array::I64(v) => v.iter().map(|i| Value::I64(*i)).collect(),
                Array::F64(v) => v.iter().map(|f| Value::F64(*f)).collect(),
                Array::String(v) => v.iter().map(|s| Value::String(s.clone())).collect(),
                other => vec![Value::from(other.to_string())],
            };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                any_value(o, item);
            }
            o.push_str("]}}");
        }
        other => {
            o.push_str(r#"{"stringValue":"#);
            string(o, &other.to_string());
            o.push('}');
        }
    }
}

/// The JSON mapping writes non-finite doubles as strings.
fn double(o: &mut String, f: f64) {
    if f.is_nan() {
        o.push_str(r#""NaN""#);
    } else if f.is_infinite() {
        o.push_str(if f > 0.0 {
            r#""Infinity""#
        } else {
            r#""-Infinity""#
        });
    } else {
        let _ = write!(o, "{f:?}");
    }
}

/// A JSON string literal.
fn string(o: &mut String, s: &str) {
    o.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        o.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(o, "\\u{b:04x}");
        } else {
            o.push_str(escaped);
        }
        start = i + 1;
    }
    o.push_str(&s[start..]);
    o.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let mut o = String::new();
        string(&mut o, "a\"b\\c\nd\u{1}é");
        assert_eq!(o, r#""a\"b\\c\nd\u0001é""#);
        let back: String = serde_json::from_str(&o).expect("valid JSON");
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn doubles_keep_their_value_and_non_finite_ones_are_strings() {
        for (f, text) in [
            (1.5, "1.5"),
            (3.0, "3.0"),
            (f64::NAN, r#""NaN""#),
            (f64::NEG_INFINITY, r#""-Infinity""#),
        ] {
            let mut o = String::new();
            double(&mut o, f);
            assert_eq!(o, text);
        }
    }
}
