//! `ExportTraceServiceRequest` in protobuf, written straight from the SDK's `SpanData`.
//!
//! opentelemetry-otlp first converts every span into opentelemetry-proto's structs (each
//! attribute key and string copied into a new `String`, the spans grouped through a hash
//! map), then prost sizes and writes them. Writing the wire format from `SpanData` itself
//! skips the copy and the second tree, which is most of the export thread's work.
//! Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto`.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::protobuf::Writer;

/// `SpanFlags`: the low byte is the W3C trace flags; these say whether the parent was remote.
pub(crate) const HAS_IS_REMOTE: u32 = 0x100;
pub(crate) const IS_REMOTE: u32 = 0x200;

/// Encodes `spans` under `resource` as one protobuf `ExportTraceServiceRequest`, into `buf`
/// (cleared first; pass the previous batch's buffer to reuse its allocation).
pub fn encode_protobuf(resource: &Resource, spans: &[SpanData], buf: Vec<u8>) -> Vec<u8> {
    let scopes: Vec<(&InstrumentationScope, Vec<u8>)> = distinct_scopes(spans)
        .into_iter()
        .map(|scope| {
            let mut body = Vec::new();
            for span in spans.iter().filter(|s| &s.instrumentation_scope == scope) {
                encode_span_protobuf(span, &mut body);
            }
            (scope, body)
        })
        .collect();
    let framed: Vec<(&InstrumentationScope, &[u8])> =
        scopes.iter().map(|(s, b)| (*s, b.as_slice())).collect();
    frame_protobuf(resource, &framed, buf)
}

/// Appends one span to `out` as an element of `ScopeSpans.spans` (its tag and length
/// included), so that spans encoded one at a time, as they end, are later framed whole by
/// [`frame_protobuf`].
pub fn encode_span_protobuf(span: &SpanData, out: &mut Vec<u8>) {
    let mut w = Writer {
        buf: std::mem::take(out),
    };
    // ScopeSpans.spans = 2
    w.message(2, |w| span_message(w, span));
    *out = w.buf;
}

/// The request around spans already encoded by [`encode_span_protobuf`], one run of them
/// per instrumentation scope, into `buf` (cleared first).
pub fn frame_protobuf(
    resource: &Resource,
    scopes: &[(&InstrumentationScope, &[u8])],
    buf: Vec<u8>,
) -> Vec<u8> {
    let mut w = Writer::with_buffer(buf);
    // ExportTraceServiceRequest.resource_spans = 1
    w.message(1, |w| {
        // ResourceSpans.resource = 1
        w.message(1, |w| {
            for (key, value) in resource.iter() {
                w.message(1, |w| key_value(w, key.as_str(), value));
            }
        });
        for (scope, spans) in scopes {
            // ResourceSpans.scope_spans = 2
            w.message(2, |w| {
                w.message(1, |w| instrumentation_scope(w, scope));
                w.buf.extend_from_slice(spans);
                if let Some(url) = scope.schema_url() {
                    w.bytes(3, url.as_bytes());
                }
            });
        }
        if let Some(url) = resource.schema_url() {
            w.bytes(3, url.as_bytes());
        }
    });
    w.buf
}

/// The scopes of `spans` in order of first appearance; a batch has one or two.
pub(crate) fn distinct_scopes(spans: &[SpanData]) -> Vec<&InstrumentationScope> {
    let mut scopes: Vec<&InstrumentationScope> = Vec::with_capacity(1);
    for span in spans {
        if !scopes.contains(&&span.instrumentation_scope) {
            scopes.push(&span.instrumentation_scope);
        }
    }
    scopes
}

fn instrumentation_scope(w: &mut Writer, scope: &InstrumentationScope) {
    w.bytes(1, scope.name().as_bytes());
    if let Some(v) = scope.version() {
        w.bytes(2, v.as_bytes());
    }
    for kv in scope.attributes() {
        w.message(3, |w| key_value(w, kv.key.as_str(), &kv.value));
    }
}

fn span_message(w: &mut Writer, span: &SpanData) {
    let cx = &span.span_context;
    w.bytes(1, &cx.trace_id().to_bytes());
    w.bytes(2, &cx.span_id().to_bytes());
    w.bytes(3, cx.trace_state().header().as_bytes());
    if span.parent_span_id != SpanId::INVALID {
        w.bytes(4, &span.parent_span_id.to_bytes());
    }
    w.bytes(5, span.name.as_bytes());
    w.uint(6, kind(&span.span_kind));
    w.fixed64(7, unix_nanos(span.start_time));
    w.fixed64(8, unix_nanos(span.end_time));
    attributes(w, 9, &span.attributes);
    w.uint(10, u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        w.message(11, |w| {
            w.fixed64(1, unix_nanos(event.timestamp));
            w.bytes(2, event.name.as_bytes());
            attributes(w, 3, &event.attributes);
            w.uint(4, u64::from(event.dropped_attributes_count));
        });
    }
    w.uint(12, u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        w.message(13, |w| {
            let lcx = &link.span_context;
            w.bytes(1, &lcx.trace_id().to_bytes());
            w.bytes(2, &lcx.span_id().to_bytes());
            w.bytes(3, lcx.trace_state().header().as_bytes());
            attributes(w, 4, &link.attributes);
            w.uint(5, u64::from(link.dropped_attributes_count));
            w.fixed32(6, flags(lcx.trace_flags().to_u8(), lcx.is_remote()));
        });
    }
    w.uint(14, u64::from(span.links.dropped_count));
    match &span.status {
        // Written even when unset, as opentelemetry-otlp does (an empty message).
        Status::Unset => w.message(15, |_| {}),
        Status::Ok => w.message(15, |w| w.uint(3, 1)),
        Status::Error { description } => w.message(15, |w| {
            w.bytes(2, description.as_bytes());
            w.uint(3, 2);
        }),
    }
    w.fixed32(
        16,
        flags(cx.trace_flags().to_u8(), span.parent_span_is_remote),
    );
}

pub(crate) fn flags(trace_flags: u8, remote: bool) -> u32 {
    u32::from(trace_flags) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

/// `Span.SpanKind`: 0 is unspecified, so every SDK kind is one more than its position.
pub(crate) fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn attributes(w: &mut Writer, field: u32, kvs: &[KeyValue]) {
    for kv in kvs {
        w.message(field, |w| key_value(w, kv.key.as_str(), &kv.value));
    }
}

fn key_value(w: &mut Writer, key: &str, value: &Value) {
    w.bytes_always(1, key.as_bytes());
    w.message(2, |w| any_value(w, value));
}

/// `AnyValue`: string 1, bool 2, int 3, double 4, array 5 (an `ArrayValue` of `AnyValue`s).
fn any_value(w: &mut Writer, value: &Value) {
    match value {
        Value::String(s) => w.bytes_always(1, s.as_str().as_bytes()),
        Value::Bool(b) => w.varint_always(2, u64::from(*b)),
        Value::I64(i) => w.varint_always(3, *i as u64),
        Value::F64(f) => w.fixed64_always(4, f.to_bits()),
        Value::Array(array) => w.message(5, |w| match array {
            Array::Bool(v) => {
                for b in v {
                    w.message(1, |w| w.varint_always(2, u64::from(*b)));
                }
            }
            Array::I64(v) => {
                for i in v {
                    w.message(1, |w| w.varint_always(3, *i as u64));
                }
            }
            Array::F64(v) => {
                for f in v {
                    w.message(1, |w| w.fixed64_always(4, f.to_bits()));
                }
            }
            Array::String(v) => {
                for s in v {
                    w.message(1, |w| w.bytes_always(1, s.as_str().as_bytes()));
                }
            }
            // Array is non-exhaustive: a kind added later goes as its text.
            other => w.message(1, |w| w.bytes_always(1, other.to_string().as_bytes())),
        }),
        other => w.bytes_always(1, other.to_string().as_bytes()),
    }
}
