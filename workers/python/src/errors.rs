//! `TaskerError` → the exception classes of `tasker_core/errors.py` (each a `TaskerError`
//! and a familiar builtin), converted here and nowhere else. The classes are looked up once,
//! when the module loads: one missing from `errors.py` fails the import with its name,
//! instead of every raise of it silently becoming a `RuntimeError`. Panics become
//! `InternalError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{PyImportError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use tasker_shared::TaskerError;
use tasker_shared::host::{ErrorKind, error_types};

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Looks every class up in `tasker_core.errors`, and adds `ERROR_TYPES`, the `error_type`s
/// of the core's own failures, to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let module = py.import("tasker_core.errors")?;
    let mut classes = Vec::with_capacity(ErrorKind::ALL.len());
    for kind in ErrorKind::ALL {
        let class = module
            .getattr(kind.class_name())
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from))
            .map_err(|_| {
                PyImportError::new_err(format!(
                    "tasker_core.errors.{} is not defined: this extension and the tasker_core package do not match",
                    kind.class_name()
                ))
            })?;
        classes.push(class.unbind());
    }
    let _ = CLASSES.set(py, classes);
    let types = PyDict::new(py);
    for (name, value) in error_types::ALL {
        types.set_item(name, value)?;
    }
    m.add("ERROR_TYPES", types)
}

/// An exception of `kind`'s class.
pub(crate) fn of_kind(py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
    match CLASSES.get(py).and_then(|c| c.get(kind.index())) {
        Some(cls) => PyErr::from_type(cls.bind(py).clone(), message),
        None => PyRuntimeError::new_err(message),
    }
}

/// Converts a core error into its Python exception.
pub(crate) fn to_py(py: Python<'_>, e: TaskerError) -> PyErr {
    of_kind(py, e.kind(), e.to_string())
}

/// Runs a binding body; a Rust panic becomes `tasker_core.InternalError` (an `Exception`),
/// not pyo3's `PanicException` (a `BaseException` that `except Exception` would miss).
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = tasker_shared::panic_message(&*panic);
            Err(of_kind(
                py,
                ErrorKind::Internal,
                format!("Rust panic in tasker-core: {msg}"),
            ))
        }
    }
}

/// The blocking-host protocol for Python: waits release the GIL, interrupts are Python's
/// signal handlers (Ctrl-C is `KeyboardInterrupt`), errors become `tasker_core` exceptions.
pub(crate) struct PyHost<'py>(pub(crate) Python<'py>);

impl tasker_worker::BlockingHost for PyHost<'_> {
    type Error = PyErr;

    fn without_lock<R: Send>(&self, f: impl FnOnce() -> R + Send) -> PyResult<R> {
        Ok(self.0.detach(f))
    }

    fn check_interrupts(&self) -> PyResult<()> {
        self.0.check_signals()
    }

    fn error(&self, e: TaskerError) -> PyErr {
        to_py(self.0, e)
    }
}
