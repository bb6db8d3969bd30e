//! The sans-IO workflow machine (quinn-proto and rustls are the models).
//!
//! [`Task`] takes events (start, a step result) and returns [`Action`]s (dispatch a step,
//! the task finished). It owns no queue, clock, thread or runtime: the native worker drives
//! it from Tokio, the wasm worker from the JS event loop, and tests drive it by hand.

mod task;
mod template;

pub use task::{
    Action, ReadyStep, StepRecord, StepStatus, Task, TaskOutcome, TaskStatus, WorkflowError,
};
pub use template::{StepTemplate, TaskTemplate, TemplateError};

/// Refuses a task context that is not a JSON object: handlers read `input` as a map in every
/// language, and an array or a number accepted here would surface as a confusing failure in
/// a handler instead of a clear error at the call.
pub fn check_context(context: &serde_json::Value) -> Result<(), crate::TaskerError> {
    let kind = match context {
        serde_json::Value::Object(_) => return Ok(()),
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
    };
    Err(crate::TaskerError::Json(format!(
        "the task context must be an object (a Hash, dict or plain object), got {kind}"
    )))
}
