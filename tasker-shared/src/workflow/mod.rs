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
