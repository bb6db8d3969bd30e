use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::TaskSequenceStep;

/// Sent to the host handler. Carries the real OTel ids of the step's `worker.step_execution`
/// span, which the host treats as opaque strings and hands back with its completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepExecutionEvent {
    pub event_id: Uuid,
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    pub task_sequence_step: TaskSequenceStep,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_correlation_id: Option<Uuid>,
    /// 32 lowercase hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// 16 lowercase hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// W3C `traceparent` of the execution span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// How long the handler may run, in ms: the step's `timeout_ms`, else the worker's
    /// handler timeout (`host::step_timeout`). Hosts read it; none works it out again.
    #[serde(default)]
    pub timeout_ms: u64,
}

/// Returned by the host when its handler finishes. `trace_id` / `span_id` are the event's,
/// or those of a child span the host made, so the completion span joins the same trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepExecutionCompletionEvent {
    pub event_id: Uuid,
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

impl StepExecutionCompletionEvent {
    /// A completion for `event` that carries the event's trace ids back.
    pub fn for_event(event: &StepExecutionEvent, success: bool) -> Self {
        Self {
            event_id: event.event_id,
            task_uuid: event.task_uuid,
            step_uuid: event.step_uuid,
            success,
            result: None,
            metadata: None,
            error_message: None,
            trace_id: event.trace_id.clone(),
            span_id: event.span_id.clone(),
        }
    }
}
