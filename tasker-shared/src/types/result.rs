use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// How a step ran: recorded for every attempt, success or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepExecutionMetadata {
    pub execution_time_ms: u64,
    /// The error's class (`"timeout"`, `"handler_error"`, a host exception class, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Whether a failure may be retried (ignored on success).
    #[serde(default = "yes")]
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// The traceparent of this attempt's `worker.step_execution` span, set by the worker that
    /// ran it: the next attempt's execution span links to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_traceparent: Option<String>,
    /// Anything else the handler returned as metadata.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub custom: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl Default for StepExecutionMetadata {
    fn default() -> Self {
        Self {
            execution_time_ms: 0,
            error_type: None,
            retryable: true,
            worker_id: None,
            execution_traceparent: None,
            custom: Map::new(),
        }
    }
}

/// The outcome of one step attempt, as the workflow machine consumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepExecutionResult {
    pub step_uuid: Uuid,
    pub success: bool,
    #[serde(default)]
    pub result: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default)]
    pub metadata: StepExecutionMetadata,
}

impl StepExecutionResult {
    /// A successful attempt.
    pub fn success(step_uuid: Uuid, result: Value, execution_time_ms: u64) -> Self {
        Self {
            step_uuid,
            success: true,
            result,
            error_message: None,
            metadata: StepExecutionMetadata {
                execution_time_ms,
                ..StepExecutionMetadata::default()
            },
        }
    }

    /// A failed attempt with its reason.
    pub fn failure(
        step_uuid: Uuid,
        message: impl Into<String>,
        error_type: impl Into<String>,
        retryable: bool,
        execution_time_ms: u64,
    ) -> Self {
        Self {
            step_uuid,
            success: false,
            result: Value::Null,
            error_message: Some(message.into()),
            metadata: StepExecutionMetadata {
                execution_time_ms,
                error_type: Some(error_type.into()),
                retryable,
                ..StepExecutionMetadata::default()
            },
        }
    }

    /// Records which worker ran the attempt.
    pub fn with_worker_id(mut self, worker_id: impl Into<String>) -> Self {
        self.metadata.worker_id = Some(worker_id.into());
        self
    }

    /// The result, naming the execution span of its attempt (see
    /// [`StepExecutionMetadata::execution_traceparent`]).
    pub fn with_execution_traceparent(mut self, traceparent: Option<String>) -> Self {
        self.metadata.execution_traceparent = traceparent;
        self
    }
}
