//! Host threads take step events and return completions. `wait_event` blocks with the GIL
//! released, so N Python threads wait at once and run N handlers concurrently; no sleeping
//! poll loop.

use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use uuid::Uuid;

use crate::bootstrap::{PyWorker, SLICE};
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

pub(crate) fn event_to_py(py: Python<'_>, event: &StepExecutionEvent) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(event).map_err(|e| errors::to_py(py, e.into()))?;
    conversions::to_py(py, &json)
}

pub(crate) fn wait_event(
    w: &PyWorker,
    py: Python<'_>,
    timeout: f64,
) -> PyResult<Option<Py<PyAny>>> {
    errors::guard(py, || {
        let total = Duration::try_from_secs_f64(timeout).unwrap_or(SLICE);
        let deadline = Instant::now() + total;
        loop {
            let slice = SLICE.min(deadline.saturating_duration_since(Instant::now()));
            let got = py
                .detach(|| w.0.bridge().wait(slice))
                .map_err(|e| errors::to_py(py, e))?;
            if let Some(event) = got {
                return event_to_py(py, &event).map(Some);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            py.check_signals()?;
        }
    })
}

pub(crate) fn poll_event(w: &PyWorker, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
    errors::guard(py, || {
        match w.0.bridge().poll().map_err(|e| errors::to_py(py, e))? {
            Some(event) => event_to_py(py, &event).map(Some),
            None => Ok(None),
        }
    })
}

pub(crate) fn complete(
    w: &PyWorker,
    py: Python<'_>,
    event_id: &str,
    completion: &Bound<'_, PyAny>,
) -> PyResult<()> {
    errors::guard(py, || {
        let id = Uuid::parse_str(event_id).map_err(|_| {
            errors::named(
                py,
                "ConversionError",
                format!("event_id {event_id:?} is not a UUID"),
            )
        })?;
        let json = conversions::to_json(completion, "completion")?;
        let completion: StepExecutionCompletionEvent =
            serde_json::from_value(json).map_err(|e| {
                errors::named(
                    py,
                    "ConversionError",
                    format!("completion is malformed: {e}"),
                )
            })?;
        w.0.bridge()
            .complete(id, completion)
            .map_err(|e| errors::to_py(py, e))
    })
}
