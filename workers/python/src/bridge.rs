//! Host threads take step events and return completions. `wait_event` blocks with the GIL
//! released (the core's slice loop), so N Python threads wait at once and run N handlers
//! concurrently; no sleeping poll loop.

use std::time::Duration;

use pyo3::prelude::*;
use tasker_shared::types::StepExecutionEvent;
use tasker_worker::{Worker, blocking};

use crate::errors::PyHost;
use crate::{conversions, errors};

/// `ffi_floor(callback, n)`: calls `callback()` `n` times from Rust, with nothing else around
/// the call. The floor under every call the worker makes into Python (a step's handler is
/// one); `make bench` times it. An exception from `callback` propagates.
#[pyfunction]
pub(crate) fn ffi_floor(py: Python<'_>, callback: &Bound<'_, PyAny>, n: u64) -> PyResult<()> {
    errors::guard(py, || {
        for _ in 0..n {
            callback.call0()?;
        }
        Ok(())
    })
}

fn event_to_py(py: Python<'_>, event: &StepExecutionEvent) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(event).map_err(|e| errors::to_py(py, e.into()))?;
    conversions::to_py(py, &json)
}

pub(crate) fn wait_event(w: &Worker, py: Python<'_>, timeout: f64) -> PyResult<Option<Py<PyAny>>> {
    errors::guard(py, || {
        let total = Duration::try_from_secs_f64(timeout).unwrap_or(blocking::SLICE);
        blocking::next_event(&PyHost(py), w.bridge(), total)?
            .map(|event| event_to_py(py, &event))
            .transpose()
    })
}

pub(crate) fn poll_event(w: &Worker, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
    errors::guard(py, || {
        w.bridge()
            .poll()
            .map_err(|e| errors::to_py(py, e))?
            .map(|event| event_to_py(py, &event))
            .transpose()
    })
}

pub(crate) fn complete(
    w: &Worker,
    py: Python<'_>,
    event_id: &str,
    completion: &Bound<'_, PyAny>,
) -> PyResult<()> {
    errors::guard(py, || {
        let json = conversions::to_json(completion, "completion")?;
        let (id, completion) = tasker_shared::host::parse_completion(event_id, json)
            .map_err(|e| errors::to_py(py, e))?;
        w.bridge()
            .complete(id, completion)
            .map_err(|e| errors::to_py(py, e))
    })
}
