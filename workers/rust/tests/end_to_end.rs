//! linear_workflow and the diamond on the native worker, exported to a real collector.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tasker_shared::logging::TelemetryConfig;
use tasker_testkit::{CollectedSpan, Collector};
use tasker_worker::{TaskResult, WorkerConfig};
use tasker_worker_rust::{HandlerRegistry, RustWorker, StepContext, handlers, templates};

/// The example handlers, each also recording the context it was given.
fn recording_registry(seen: Arc<Mutex<Vec<StepContext>>>) -> HandlerRegistry {
    let mut r = HandlerRegistry::new();
    let s = seen.clone();
    r.register_fn("square", move |ctx: StepContext| {
        s.lock().expect("lock").push(ctx.clone());
        handlers::square(ctx)
    });
    r.register_fn("sum_dependencies", move |ctx: StepContext| {
        seen.lock().expect("lock").push(ctx.clone());
        handlers::sum_dependencies(ctx)
    });
    r
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn assert_one_trace(
    result: &TaskResult,
    spans: &[CollectedSpan],
    steps: usize,
    seen: &[StepContext],
) {
    let trace_id = result.trace_id.clone().expect("the result names its trace");
    let mine: Vec<&CollectedSpan> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let task_spans: Vec<&CollectedSpan> = spans
        .iter()
        .filter(|s| s.attr("task_uuid") == Some(result.task_uuid.to_string().as_str()))
        .collect();
    assert!(!task_spans.is_empty());
    for s in &task_spans {
        assert_eq!(
            s.trace_id, trace_id,
            "span {} of the task left its trace",
            s.name
        );
    }
    let root = mine
        .iter()
        .find(|s| s.name == "worker.task_execution")
        .expect("root span");
    assert_eq!(root.parent_id, "");
    let execs: Vec<&&CollectedSpan> = mine
        .iter()
        .filter(|s| s.name == "worker.step_execution")
        .collect();
    let completions: Vec<&&CollectedSpan> = mine
        .iter()
        .filter(|s| s.name == "worker.step_completion_received")
        .collect();
    assert_eq!(
        (execs.len(), completions.len()),
        (steps, steps),
        "{mine:#?}"
    );
    for e in &execs {
        for attr in [
            "correlation_id",
            "task_uuid",
            "step_uuid",
            "step_name",
            "namespace",
        ] {
            assert!(
                e.attr(attr).is_some_and(|v| !v.is_empty()),
                "{} lacks {attr}: {e:#?}",
                e.name
            );
        }
        assert_eq!(
            e.attr("correlation_id"),
            Some(result.correlation_id.to_string().as_str())
        );
        assert_eq!(
            e.parent_id, root.span_id,
            "steps hang off the task's root span"
        );
        assert!(e.has_event("step.execution_started") && e.has_event("step.execution_completed"));
    }
    for c in &completions {
        assert_eq!(c.links.len(), 1, "{c:#?}");
        let exec = execs
            .iter()
            .find(|e| e.span_id == c.links[0].span_id)
            .unwrap_or_else(|| panic!("completion links to no execution span: {c:#?}"));
        assert_eq!(c.links[0].trace_id, trace_id);
        assert_eq!(
            c.parent_id, exec.span_id,
            "the returned ids are the completion's parent"
        );
        assert!(c.has_event("step.rust_execution_completed"), "{c:#?}");
        let event = c
            .events
            .iter()
            .find(|e| e.name == "step.rust_execution_completed")
            .expect("event");
        assert_eq!(
            event.attributes.get("success").map(String::as_str),
            Some("true")
        );
        assert!(event.attributes.contains_key("duration_ms"));
    }
    // What the handlers were given: real 32/16-hex ids of their own execution spans.
    let exec_ids: BTreeSet<&str> = execs.iter().map(|e| e.span_id.as_str()).collect();
    let mine_seen: Vec<&StepContext> = seen
        .iter()
        .filter(|c| c.task_uuid == result.task_uuid.to_string())
        .collect();
    assert_eq!(mine_seen.len(), steps);
    for ctx in mine_seen {
        let (t, s) = (
            ctx.trace_id.as_deref().expect("trace_id"),
            ctx.span_id.as_deref().expect("span_id"),
        );
        assert!(is_hex(t, 32) && is_hex(s, 16), "{t} / {s}");
        assert_eq!(t, trace_id);
        assert!(
            exec_ids.contains(s),
            "handler saw span {s}, not one of its execution spans"
        );
        assert_eq!(
            ctx.traceparent.as_deref(),
            Some(format!("00-{t}-{s}-01").as_str())
        );
    }
}

#[test]
fn linear_and_diamond_workflows_each_run_as_one_trace() {
    let collector = Collector::start();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = WorkerConfig {
        telemetry: Some(
            TelemetryConfig::default()
                .with_enabled(true)
                .with_endpoint(collector.http_endpoint())
                .with_service_name("tasker-rust-worker-test"),
        ),
        ..WorkerConfig::default()
    };
    let worker = RustWorker::start(config, recording_registry(seen.clone())).expect("worker");
    let timeout = Some(Duration::from_secs(30));

    let linear = worker
        .run_task(
            templates::linear().expect("template"),
            json!({"even_number": 2}),
            timeout,
        )
        .expect("linear runs");
    assert!(linear.is_complete(), "{linear:#?}");
    assert_eq!(
        serde_json::Value::Object(linear.step_results.clone()),
        json!({"linear_step_1": 4, "linear_step_2": 16, "linear_step_3": 256, "linear_step_4": 65536})
    );
    let diamond = worker
        .run_task(
            templates::diamond().expect("template"),
            json!({"even_number": 2}),
            timeout,
        )
        .expect("diamond runs");
    assert!(diamond.is_complete(), "{diamond:#?}");
    assert_eq!(
        serde_json::Value::Object(diamond.step_results.clone()),
        json!({"diamond_start": 4, "diamond_branch_b": 16, "diamond_branch_c": 16, "diamond_end": 32})
    );
    assert_ne!(
        linear.trace_id, diamond.trace_id,
        "each task is its own trace"
    );
    worker.stop().expect("stop flushes telemetry");

    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 18);
    let seen = seen.lock().expect("lock").clone();
    assert_one_trace(&linear, &spans, 4, &seen);
    assert_one_trace(&diamond, &spans, 4, &seen);
    // The diamond's end step got both branches' results.
    let end = seen
        .iter()
        .find(|c| c.step_name == "diamond_end")
        .expect("end ran");
    assert_eq!(
        serde_json::Value::Object(end.dependency_results.clone()),
        json!({"diamond_branch_b": 16, "diamond_branch_c": 16})
    );
}
