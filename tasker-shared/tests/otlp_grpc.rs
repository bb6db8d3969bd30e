//! Phase 2 over OTLP/gRPC, started inside a multi-thread runtime as bootstrap does.

use std::time::Duration;

use tasker_shared::logging::{self, OtlpProtocol, TelemetryConfig};
use tasker_shared::trace_context;
use tasker_testkit::Collector;

#[test]
fn grpc_export_works_when_started_inside_a_multi_thread_runtime() {
    let collector = Collector::start();
    logging::init_console_only();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = TelemetryConfig::default()
        .with_enabled(true)
        .with_protocol(OtlpProtocol::Grpc)
        .with_endpoint(collector.grpc_endpoint())
        .with_service_name("tasker-shared-grpc-test");
    runtime
        .block_on(async { logging::init_with_config(config) })
        .expect("phase 2 over gRPC inside the runtime");

    // Spans are made on host threads, outside the runtime, as FFI hosts make them.
    let root = tracing::info_span!("task.run", task_uuid = "t-grpc");
    let root_ids = trace_context::span_ids(&root).expect("ids");
    let mut children = Vec::new();
    for i in 0..3 {
        let step = tracing::info_span!(parent: &root, "worker.step_execution", step_name = i);
        children.push(trace_context::span_ids(&step).expect("ids").span_id);
        let _ = step.entered();
    }
    drop(root);
    logging::flush_telemetry().expect("flush over gRPC");
    logging::shutdown_telemetry().expect("shutdown over gRPC");

    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 4);
    let steps: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "worker.step_execution")
        .collect();
    assert_eq!(steps.len(), 3, "{spans:#?}");
    for s in &steps {
        assert_eq!(s.trace_id, root_ids.trace_id);
        assert_eq!(s.parent_id, root_ids.span_id);
        assert!(children.contains(&s.span_id));
        assert_eq!(s.resource["service.name"], "tasker-shared-grpc-test");
    }
    let root_span = spans
        .iter()
        .find(|s| s.name == "task.run")
        .expect("root exported");
    assert_eq!(root_span.parent_id, "");
    assert_eq!(root_span.attr("task_uuid"), Some("t-grpc"));
    drop(runtime);
}
