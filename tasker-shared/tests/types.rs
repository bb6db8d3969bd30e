//! Serde shapes of the round-trip messages.

use serde_json::{Value, json};
use tasker_shared::types::{
    StepExecutionCompletionEvent, StepExecutionEvent, StepExecutionMetadata, StepExecutionResult,
    StepMessage, TaskInfo, TaskSequenceStep, WorkflowStepInfo,
};
use uuid::Uuid;

fn sequence() -> TaskSequenceStep {
    let task_uuid = Uuid::new_v4();
    TaskSequenceStep {
        task: TaskInfo {
            task_uuid,
            correlation_id: Uuid::new_v4(),
            namespace_name: "linear_workflow".into(),
            task_name: "linear".into(),
            version: "1.0.0".into(),
            context: json!({"even_number": 6}),
        },
        workflow_step: WorkflowStepInfo {
            step_uuid: Uuid::new_v4(),
            name: "linear_step_1".into(),
            handler: "square".into(),
            attempt: 1,
            max_attempts: 3,
            timeout_ms: Some(1000),
        },
        dependency_results: json!({"prev": 4}).as_object().cloned().expect("map"),
    }
}

fn event(trace: bool) -> StepExecutionEvent {
    let seq = sequence();
    StepExecutionEvent {
        event_id: Uuid::new_v4(),
        task_uuid: seq.task.task_uuid,
        step_uuid: seq.workflow_step.step_uuid,
        correlation_id: seq.task.correlation_id,
        parent_correlation_id: None,
        task_sequence_step: seq,
        trace_id: trace.then(|| "4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
        span_id: trace.then(|| "00f067aa0ba902b7".to_owned()),
        traceparent: trace
            .then(|| "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
        timeout_ms: 30_000,
    }
}

#[test]
fn a_step_execution_event_round_trips_with_its_trace_fields() {
    let e = event(true);
    let text = serde_json::to_string(&e).expect("serialize");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(v["span_id"], "00f067aa0ba902b7");
    assert_eq!(
        v["task_sequence_step"]["workflow_step"]["name"],
        "linear_step_1"
    );
    assert_eq!(
        serde_json::from_str::<StepExecutionEvent>(&text).expect("back"),
        e
    );
}

#[test]
fn absent_trace_fields_are_not_serialized() {
    let v = serde_json::to_value(event(false)).expect("serialize");
    let obj = v.as_object().expect("object");
    for key in [
        "trace_id",
        "span_id",
        "traceparent",
        "parent_correlation_id",
    ] {
        assert!(!obj.contains_key(key), "{key} should be skipped: {v}");
    }
}

#[test]
fn an_event_without_trace_fields_still_deserializes() {
    let mut v = serde_json::to_value(event(true)).expect("serialize");
    for key in ["trace_id", "span_id", "traceparent"] {
        v.as_object_mut().expect("object").remove(key);
    }
    let e: StepExecutionEvent = serde_json::from_value(v).expect("older event");
    assert_eq!(e.trace_id, None);
}

#[test]
fn a_completion_without_trace_fields_still_deserializes() {
    let v = json!({
        "event_id": Uuid::new_v4(), "task_uuid": Uuid::new_v4(), "step_uuid": Uuid::new_v4(),
        "success": true, "result": {"ok": 1}
    });
    let c: StepExecutionCompletionEvent = serde_json::from_value(v).expect("completion");
    assert!(c.success && c.trace_id.is_none() && c.span_id.is_none());
}

#[test]
fn a_completion_for_an_event_carries_its_trace_ids_back() {
    let e = event(true);
    let c = StepExecutionCompletionEvent::for_event(&e, true);
    assert_eq!(c.trace_id, e.trace_id);
    assert_eq!(c.span_id, e.span_id);
    let text = serde_json::to_string(&c).expect("serialize");
    assert_eq!(
        serde_json::from_str::<StepExecutionCompletionEvent>(&text).expect("back"),
        c
    );
}

#[test]
fn a_step_message_round_trips() {
    let m = StepMessage {
        task_uuid: Uuid::new_v4(),
        step_uuid: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        traceparent: None,
        previous_traceparent: None,
    };
    let v = serde_json::to_value(&m).expect("serialize");
    assert!(v.get("traceparent").is_none());
    assert_eq!(serde_json::from_value::<StepMessage>(v).expect("back"), m);
}

#[test]
fn a_result_carries_its_metadata() {
    let r =
        StepExecutionResult::failure(Uuid::new_v4(), "timed out after 50 ms", "timeout", true, 50)
            .with_worker_id("worker-1");
    let v = serde_json::to_value(&r).expect("serialize");
    assert_eq!(
        v["metadata"],
        json!({"execution_time_ms": 50, "error_type": "timeout", "retryable": true, "worker_id": "worker-1"})
    );
    assert_eq!(
        serde_json::from_value::<StepExecutionResult>(v).expect("back"),
        r
    );
}

#[test]
fn result_metadata_defaults_to_retryable() {
    let m: StepExecutionMetadata =
        serde_json::from_value(json!({"execution_time_ms": 3})).expect("m");
    assert!(m.retryable);
    assert_eq!(
        m,
        StepExecutionMetadata {
            execution_time_ms: 3,
            ..Default::default()
        }
    );
}
