//! `TaskerError` → the Ruby exception classes of `lib/tasker_core/error.rb`, converted here
//! and nowhere else.

use magnus::prelude::*;
use magnus::{Error, ExceptionClass, RModule, Ruby};
use tasker_shared::TaskerError;

fn class(ruby: &Ruby, name: &str) -> ExceptionClass {
    ruby.class_object()
        .const_get::<_, RModule>("TaskerCore")
        .and_then(|m| m.const_get::<_, ExceptionClass>(name))
        .unwrap_or_else(|_| ruby.exception_runtime_error())
}

/// The exception class name for each error.
pub(crate) fn class_name(e: &TaskerError) -> &'static str {
    match e {
        TaskerError::Template(_) => "TemplateError",
        TaskerError::Workflow(_) | TaskerError::Internal(_) => "InternalError",
        TaskerError::TraceContext(_) => "TraceContextError",
        TaskerError::Telemetry(_) => "TelemetryError",
        TaskerError::UnknownHandler(_) => "UnknownHandlerError",
        TaskerError::Json(_) => "ConversionError",
        TaskerError::InvalidCompletion(_) => "CompletionError",
        TaskerError::TaskTimeout { .. } => "TimeoutError",
        TaskerError::Config(_) => "ConfigurationError",
        TaskerError::Stopped => "WorkerStoppedError",
        TaskerError::Forked { .. } => "ForkedWorkerError",
    }
}

/// Converts a core error into its Ruby exception.
pub(crate) fn to_ruby(ruby: &Ruby, e: TaskerError) -> Error {
    Error::new(class(ruby, class_name(&e)), e.to_string())
}

/// A `TaskerCore::ConversionError`.
pub(crate) fn conversion(ruby: &Ruby, msg: &str) -> Error {
    Error::new(class(ruby, "ConversionError"), msg.to_owned())
}

/// A `TaskerCore::InternalError`.
pub(crate) fn internal(ruby: &Ruby, msg: &str) -> Error {
    Error::new(class(ruby, "InternalError"), msg.to_owned())
}
