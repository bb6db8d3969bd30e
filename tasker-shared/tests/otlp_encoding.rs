//! Our OTLP encoders against the reference: opentelemetry-proto's own conversion of the same
//! spans (what opentelemetry-otlp sends). Our protobuf bytes, decoded by prost, and our JSON,
//! read by opentelemetry-proto's serde mapping, must both equal it field for field.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message;
use tasker_shared::otlp::{encode_json, encode_protobuf};

fn context(trace: u128, span: u64, remote: bool, state: &str) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        remote,
        state.parse::<TraceState>().expect("trace state"),
    )
}

fn every_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("text", "with \"quotes\", a \\ and\na newline, and é"),
        KeyValue::new("empty", ""),
        KeyValue::new("yes", true),
        KeyValue::new("no", false),
        KeyValue::new("zero", 0i64),
        KeyValue::new("negative", -42i64),
        KeyValue::new("big", i64::MAX),
        KeyValue::new("ratio", 0.25f64),
        KeyValue::new("whole", 3.0f64),
        KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ints", Value::Array(Array::I64(vec![0, -1, 7]))),
        KeyValue::new("floats", Value::Array(Array::F64(vec![1.5, -0.5]))),
        KeyValue::new(
            "strings",
            Value::Array(Array::String(vec![StringValue::from("a"), "".into()])),
        ),
    ]
}

fn spans() -> Vec<SpanData> {
    let scope = InstrumentationScope::builder("tasker-core")
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .with_attributes([KeyValue::new("scope.key", "v")])
        .build();
    let other_scope = InstrumentationScope::builder("other").build();
    let t0 = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "step.execution_started",
        t0 + Duration::from_micros(3),
        every_value(),
        1,
    ));
    events.events.push(Event::new("bare", t0, vec![], 0));
    events.dropped_count = 2;
    let mut links = SpanLinks::default();
    links.links.push(Link::new(
        context(0xabc, 0xdef, true, "vendor=value"),
        vec![KeyValue::new("link.kind", "previous_attempt")],
        3,
    ));
    links.dropped_count = 1;
    let root = SpanData {
        span_context: context(
            0x0af7651916cd43dd8448eb211c80319c,
            0xb7ad6b7169203331,
            false,
            "",
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: Cow::Borrowed("worker.task_execution"),
        start_time: t0,
        end_time: t0 + Duration::from_millis(5),
        attributes: every_value(),
        dropped_attributes_count: 4,
        events,
        links,
        status: Status::error("handler \"square\" failed"),
        instrumentation_scope: scope.clone(),
    };
    let child = SpanData {
        span_context: context(0x0af7651916cd43dd8448eb211c80319c, 0x1, false, "a=b,c=d"),
        parent_span_id: SpanId::from(0xb7ad6b7169203331),
        parent_span_is_remote: true,
        span_kind: SpanKind::Consumer,
        name: Cow::Owned("worker.step_execution".to_owned()),
        start_time: t0,
        end_time: t0 + Duration::from_millis(1),
        attributes: vec![KeyValue::new("step_name", "square")],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Ok,
        instrumentation_scope: scope,
    };
    let mut other = child.clone();
    other.instrumentation_scope = other_scope;
    other.span_kind = SpanKind::Internal;
    other.status = Status::Unset;
    let mut client = child.clone();
    client.span_kind = SpanKind::Client;
    let mut producer = other.clone();
    producer.span_kind = SpanKind::Producer;
    vec![root, other, child, client, producer]
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_schema_url(
            [KeyValue::new("service.name", "encoding-test")],
            "https://opentelemetry.io/schemas/1.29.0",
        )
        .with_attribute(KeyValue::new("deployment.environment", "test"))
        .build()
}

fn reference(resource: &Resource, spans: Vec<SpanData>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans,
            &ResourceAttributesWithSchema::from(resource),
        ),
    }
}

#[test]
fn protobuf_decodes_to_what_opentelemetry_proto_would_send() {
    let resource = resource();
    let ours = encode_protobuf(&resource, &spans(), Vec::new());
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("valid protobuf");
    assert_eq!(decoded, reference(&resource, spans()));
}

#[test]
fn json_reads_back_as_what_opentelemetry_proto_would_send() {
    let resource = resource();
    let ours = encode_json(&resource, &spans());
    let decoded: ExportTraceServiceRequest =
        serde_json::from_str(&ours).unwrap_or_else(|e| panic!("{e}: {ours}"));
    assert_eq!(decoded, reference(&resource, spans()));
}

#[test]
fn json_ids_are_hex_and_integers_are_strings() {
    let ours = encode_json(&resource(), &spans());
    let v: serde_json::Value = serde_json::from_str(&ours).expect("JSON");
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span["spanId"], "b7ad6b7169203331");
    assert_eq!(span["startTimeUnixNano"], "1764000000123456789");
    assert_eq!(span["attributes"][5]["value"]["intValue"], "-42");
    assert_eq!(span["kind"], 2);
}

#[test]
fn a_buffer_is_reused_and_an_empty_batch_is_still_a_request() {
    let resource = resource();
    let first = encode_protobuf(&resource, &spans(), Vec::new());
    let capacity = first.capacity();
    let again = encode_protobuf(&resource, &spans()[..1], first);
    assert!(again.capacity() >= capacity, "the allocation was kept");
    let empty = encode_protobuf(&resource, &[], again);
    let decoded = ExportTraceServiceRequest::decode(empty.as_slice()).expect("valid protobuf");
    assert_eq!(decoded, reference(&resource, vec![]));
}
