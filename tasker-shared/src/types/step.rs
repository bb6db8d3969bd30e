use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What the queue carries for a ready step: enough to find it, and the trace it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMessage {
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    pub correlation_id: Uuid,
    /// The task's root span, so that every step of a task lands in one trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// For a retry, the previous attempt's `worker.step_execution` span: the retry's
    /// execution span links to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_traceparent: Option<String>,
}

/// The task a step belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub task_uuid: Uuid,
    pub correlation_id: Uuid,
    pub namespace_name: String,
    pub task_name: String,
    pub version: String,
    /// The task's input context, as given to `run_task`.
    #[serde(default)]
    pub context: Value,
}

/// The step itself: its name, handler and attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowStepInfo {
    pub step_uuid: Uuid,
    pub name: String,
    pub handler: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub max_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// Everything a handler needs to run one step (the spec's `task_sequence_step`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSequenceStep {
    pub task: TaskInfo,
    pub workflow_step: WorkflowStepInfo,
    /// Results of the steps this one depends on, by step name.
    #[serde(default)]
    pub dependency_results: Map<String, Value>,
}
