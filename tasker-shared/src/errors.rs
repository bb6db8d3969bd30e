//! The one error enum of the core. Each binding converts it once, at its edge, into the
//! host's own exception classes; the variant says which class.

use crate::logging::TelemetryError;
use crate::trace_context::TraceContextError;
use crate::workflow::{TemplateError, WorkflowError};

/// Any failure the core reports to a caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskerError {
    /// A task template was unreadable or invalid.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A step result did not fit the task's state.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// A trace id, span id or traceparent was malformed.
    #[error(transparent)]
    TraceContext(#[from] TraceContextError),
    /// Telemetry could not be started, flushed or stopped.
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    /// A template named a handler nobody registered.
    #[error("no handler registered as {0:?}")]
    UnknownHandler(String),
    /// A value could not be converted to or from JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A host value could not be converted (a completion of the wrong shape, an event id
    /// that is no UUID).
    #[error("{0}")]
    Conversion(String),
    /// A completion named no step in flight, or the wrong one.
    #[error("{0}")]
    InvalidCompletion(String),
    /// A task did not finish within the time its caller would wait.
    #[error("task {task_uuid} did not finish within {} s", *millis as f64 / 1000.0)]
    TaskTimeout { task_uuid: uuid::Uuid, millis: u64 },
    /// The worker's configuration is unusable.
    #[error("invalid worker configuration: {0}")]
    Config(String),
    /// The database could not be reached or used (the message holds no password).
    #[error("{0}")]
    Database(String),
    /// A worker was used in a process forked from the one that started it.
    #[error(
        "this worker was started in process {parent_pid}; after fork, bootstrap a new worker in the child"
    )]
    Forked { parent_pid: u32 },
    /// A call came after the worker stopped.
    #[error("the worker is stopped")]
    Stopped,
    /// `stop` was called by a step handler: the worker would wait for that very handler to
    /// return before it could stop.
    #[error(
        "stop was called from inside a step handler, which the stop would wait for; stop the worker from outside its handlers (after run_task returns, or from another thread)"
    )]
    StopInHandler,
    /// Anything else, with its reason.
    #[error("{0}")]
    Internal(String),
}

impl From<serde_json::Error> for TaskerError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}

/// `Result` with [`TaskerError`].
pub type TaskerResult<T> = Result<T, TaskerError>;

/// The message of a caught panic (`&str` or `String` payloads; anything else is named so).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}
