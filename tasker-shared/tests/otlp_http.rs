//! Phase 1, then phase 2 over OTLP/HTTP to a real collector (rotel), then shutdown.
//! One test per process: telemetry is process-global.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryState};
use tasker_shared::trace_context::{self, TraceParent};
use tasker_testkit::Collector;

#[test]
fn spans_reach_the_collector_with_their_trace_parent_links_and_attributes() {
    let collector = Collector::start();

    // Phase 1 with telemetry off: ids exist, nothing is exported yet.
    logging::init_console_only();
    assert_eq!(logging::telemetry_state(), TelemetryState::ConsoleOnly);
    let early = tracing::info_span!("made.before_phase_two");
    let early_ids = trace_context::span_ids(&early).expect("real ids before phase 2");
    assert_eq!(early_ids.trace_id.len(), 32);
    assert!(
        early_ids.traceparent.ends_with("-00"),
        "not sampled while nothing exports"
    );
    drop(early);

    let config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(collector.http_endpoint())
        .with_service_name("tasker-shared-http-test");
    logging::init_with_config(config.clone()).expect("phase 2 over HTTP");
    assert_eq!(logging::telemetry_state(), TelemetryState::Exporting);
    // A second phase 2 is harmless.
    logging::init_with_config(config).expect("second phase 2");

    // A host hands us a traceparent: the step span must join that trace.
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let step = tracing::info_span!(
        "worker.step_execution",
        correlation_id = "c-1",
        task_uuid = "t-1",
        step_uuid = "s-1",
        step_name = "linear_step_1",
        namespace = "linear_workflow"
    );
    trace_context::set_parent(
        &step,
        trace_context::parent_from_traceparent(incoming).expect("valid"),
    )
    .expect("parent set before the span starts");
    let step_ids = trace_context::span_ids(&step).expect("ids");
    assert_eq!(step_ids.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    step.in_scope(|| tracing::info!("step.execution_started"));

    // The host returns the ids as opaque strings; the completion span is their child and
    // links back to the execution span.
    let completion = tracing::info_span!("worker.step_completion_received", success = true);
    trace_context::set_parent(
        &completion,
        trace_context::parent_context(&step_ids.trace_id, &step_ids.span_id).expect("valid"),
    )
    .expect("parent");
    let exec_sc = TraceParent::parse(&step_ids.traceparent)
        .expect("ours")
        .to_span_context();
    trace_context::add_link(&completion, exec_sc);
    completion.in_scope(|| {
        tracing::info!(
            success = true,
            duration_ms = 3u64,
            "step.ruby_execution_completed"
        )
    });
    let completion_ids = trace_context::span_ids(&completion).expect("ids");
    drop(completion);
    step.in_scope(|| tracing::info!("step.execution_completed"));
    drop(step);

    // Every span made before shutdown is exported by it.
    for i in 0..300 {
        let _ = tracing::info_span!("burst", i).entered();
    }
    logging::shutdown_telemetry().expect("bounded shutdown, nothing lost");
    let stats = logging::telemetry_stats();
    assert_eq!(stats.spans_failed, 0, "{stats:?}");
    assert_eq!(stats.spans_exported, 302, "{stats:?}");
    assert_eq!(logging::telemetry_state(), TelemetryState::ConsoleOnly);
    tracing::info!("console logging still works after shutdown");

    let spans = collector.wait_for(Duration::from_secs(10), |s| {
        s.iter().filter(|s| s.name == "burst").count() == 300
            && s.iter()
                .any(|s| s.name == "worker.step_completion_received")
    });
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("no {n} span in {spans:#?}"))
    };

    let exec = by_name("worker.step_execution");
    assert_eq!(exec.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(exec.parent_id, "00f067aa0ba902b7");
    assert_eq!(exec.span_id, step_ids.span_id);
    for (k, v) in [
        ("correlation_id", "c-1"),
        ("task_uuid", "t-1"),
        ("step_uuid", "s-1"),
        ("step_name", "linear_step_1"),
        ("namespace", "linear_workflow"),
    ] {
        assert_eq!(exec.attr(k), Some(v), "{k}");
    }
    assert!(exec.has_event("step.execution_started") && exec.has_event("step.execution_completed"));
    assert_eq!(exec.resource["service.name"], "tasker-shared-http-test");
    assert_eq!(exec.resource["deployment.environment"], "development");
    assert_eq!(exec.resource["service.version"], env!("CARGO_PKG_VERSION"));

    let done = by_name("worker.step_completion_received");
    assert_eq!(done.trace_id, exec.trace_id);
    assert_eq!(done.parent_id, exec.span_id);
    assert_eq!(done.span_id, completion_ids.span_id);
    assert_eq!(done.links.len(), 1);
    assert_eq!(done.links[0].span_id, exec.span_id);
    assert!(done.has_event("step.ruby_execution_completed"));

    assert_eq!(
        spans.iter().filter(|s| s.name == "burst").count(),
        300,
        "all spans flushed at shutdown"
    );
    assert!(
        !spans.iter().any(|s| s.name == "made.before_phase_two"),
        "telemetry was off at phase 1: nothing to buffer"
    );
}
