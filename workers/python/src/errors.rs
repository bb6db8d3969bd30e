//! `TaskerError` → the exception classes of `tasker_core/errors.py` (each a `TaskerError`
//! and a familiar builtin), converted here and nowhere else. Panics become `InternalError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tasker_shared::TaskerError;

fn class_name(e: &TaskerError) -> &'static str {
    match e {
        TaskerError::Template(_) => "TemplateError",
        TaskerError::Workflow(_) | TaskerError::Internal(_) => "InternalError",
        TaskerError::TraceContext(_) => "TraceContextError",
        TaskerError::Telemetry(_) => "TelemetryError",
        TaskerError::UnknownHandler(_) => "UnknownHandlerError",
        TaskerError::Json(_) => "ConversionError",
        TaskerError::InvalidCompletion(_) => "CompletionError",
        TaskerError::TaskTimeout { .. } => "TaskTimeoutError",
        TaskerError::Config(_) => "ConfigurationError",
        TaskerError::Stopped => "WorkerStoppedError",
        TaskerError::Forked { .. } => "ForkedWorkerError",
    }
}

/// An exception of the named class from `tasker_core.errors`.
pub(crate) fn named(py: Python<'_>, name: &str, message: String) -> PyErr {
    let class = py
        .import("tasker_core.errors")
        .and_then(|m| m.getattr(name))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(cls) => PyErr::from_type(cls, message),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// Converts a core error into its Python exception.
pub(crate) fn to_py(py: Python<'_>, e: TaskerError) -> PyErr {
    named(py, class_name(&e), e.to_string())
}

/// Runs a binding body; a Rust panic becomes `tasker_core.InternalError` (an `Exception`),
/// not pyo3's `PanicException` (a `BaseException` that `except Exception` would miss).
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = tasker_shared::panic_message(&*panic);
            Err(named(
                py,
                "InternalError",
                format!("Rust panic in tasker-core: {msg}"),
            ))
        }
    }
}
