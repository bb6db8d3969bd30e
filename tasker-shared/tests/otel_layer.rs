//! The OpenTelemetry layer against a real collector: what a span and its events carry, how a
//! span's parent is fixed, and how a span made with the OpenTelemetry API joins the trace.
//! One test per process: telemetry is process-global.

use std::time::Duration;

use opentelemetry::trace::{Span as _, Tracer as _};
use tasker_shared::logging::{self, TelemetryConfig};
use tasker_shared::trace_context;
use tasker_testkit::Collector;

#[test]
fn spans_carry_typed_fields_and_leveled_events_and_otel_api_spans_join_the_trace() {
    let collector = Collector::start();
    logging::init_console_only();
    logging::init_with_config(
        TelemetryConfig::default()
            .with_enabled(true)
            .with_endpoint(collector.http_endpoint())
            .with_service_name("tasker-shared-otel-layer-test"),
    )
    .expect("phase 2 over HTTP");

    let root = tracing::info_span!(
        "layer.root",
        attempt = 3u64,
        huge = u64::MAX,
        ratio = 0.5f64,
        retried = true,
        step = %"display value",
    );
    let root_ids = trace_context::span_ids(&root).expect("ids");
    let refused = trace_context::set_parent(
        &root,
        trace_context::parent_from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .expect("valid"),
    )
    .expect_err("the ids were read, so the parent is fixed");
    assert_eq!(
        refused.to_string(),
        "cannot set the parent of span \"layer.root\": its ids were already read, so its parent is fixed"
    );

    let child = root.in_scope(|| {
        tracing::warn!(duration_ms = 7u64, "layer.something_slow");
        tracing::info_span!("layer.child")
    });
    let child_ids = trace_context::span_ids(&child).expect("ids");
    assert_eq!(
        child_ids.trace_id, root_ids.trace_id,
        "a child joins its parent's trace"
    );

    // A span made with the OpenTelemetry API, parented on the current tracing span.
    let api_span_id = child.in_scope(|| {
        let cx = trace_context::otel_context(&tracing::Span::current());
        let mut span =
            opentelemetry::global::tracer("layer-test").start_with_context("api.span", &cx);
        let id = span.span_context().span_id().to_string();
        span.end();
        id
    });
    drop(child);
    drop(root);
    logging::shutdown_telemetry().expect("everything exported");

    let spans = collector.wait_for(Duration::from_secs(10), |s| {
        ["layer.root", "layer.child", "api.span"]
            .iter()
            .all(|n| s.iter().any(|s| s.name == *n))
    });
    let by_name = |n: &str| spans.iter().find(|s| s.name == n).expect(n);

    let root = by_name("layer.root");
    assert_eq!(root.trace_id, root_ids.trace_id);
    assert_eq!(root.parent_id, "", "the refused parent was not applied");
    assert_eq!(root.attr("attempt"), Some("3"));
    assert_eq!(
        root.attr("huge"),
        Some(u64::MAX.to_string().as_str()),
        "kept as text"
    );
    assert_eq!(root.attr("ratio"), Some("0.5"));
    assert_eq!(root.attr("retried"), Some("true"));
    assert_eq!(root.attr("step"), Some("display value"));
    let slow = root
        .events
        .iter()
        .find(|e| e.name == "layer.something_slow")
        .expect("the event is recorded in its span");
    assert_eq!(
        slow.attributes.get("level").map(String::as_str),
        Some("WARN")
    );
    assert_eq!(
        slow.attributes.get("duration_ms").map(String::as_str),
        Some("7")
    );
    assert!(!slow.attributes.contains_key("target"), "{slow:?}");

    let child = by_name("layer.child");
    assert_eq!(child.parent_id, root.span_id);

    let api = by_name("api.span");
    assert_eq!(api.span_id, api_span_id);
    assert_eq!(
        api.trace_id, root_ids.trace_id,
        "the OTel API span is in the step's trace"
    );
    assert_eq!(api.parent_id, child_ids.span_id);
}
