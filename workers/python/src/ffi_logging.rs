//! Phase 1 at `import`, Python's logging through the Rust pipeline, and the opt-in
//! forwarding of Rust log records into Python's `logging`.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tasker_shared::logging::forward::{self, LogRecord};
use tasker_shared::logging::{self, host};

use crate::{conversions, errors};

/// Phase 1: console logging from the instant the module is imported, with no runtime. With
/// TELEMETRY_ENABLED=true it logs that export is deferred to the runtime context.
pub(crate) fn init_ffi_logger() {
    logging::init_ffi_console("python", None);
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(log, m)?)?;
    m.add_function(wrap_pyfunction!(telemetry_state, m)?)?;
    m.add_function(wrap_pyfunction!(flush_telemetry, m)?)?;
    m.add_function(wrap_pyfunction!(shutdown_telemetry, m)?)?;
    m.add_function(wrap_pyfunction!(after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(raise_rust_panic, m)?)?;
    m.add_function(wrap_pyfunction!(start_log_forwarding, m)?)?;
    m.add_function(wrap_pyfunction!(next_log_records, m)?)?;
    m.add_function(wrap_pyfunction!(stop_log_forwarding, m)?)?;
    m.add_function(wrap_pyfunction!(forwarded_logs_dropped, m)?)?;
    Ok(())
}

fn level(name: &str) -> PyResult<tracing::Level> {
    host::parse_level(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown log level {name:?} (use trace, debug, info, warning or error)"
        ))
    })
}

/// One event through the Rust pipeline (console, and the OTel export with telemetry on).
#[pyfunction]
#[pyo3(signature = (level_name, message, fields=None))]
fn log(
    py: Python<'_>,
    level_name: &str,
    message: &str,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    errors::guard(py, || {
        let json = match fields {
            Some(f) => conversions::to_json(f.as_any(), "fields")?,
            None => serde_json::Value::Object(Default::default()),
        };
        host::host_log(host::Host::Python, level(level_name)?, message, &json);
        Ok(())
    })
}

#[pyfunction]
fn telemetry_state() -> &'static str {
    logging::telemetry_state().as_str()
}

#[pyfunction]
#[pyo3(signature = (strict = false))]
fn flush_telemetry(py: Python<'_>, strict: bool) -> PyResult<Py<PyAny>> {
    errors::guard(py, || {
        report_to_py(py, py.detach(logging::flush_report), strict)
    })
}

#[pyfunction]
#[pyo3(signature = (strict = false))]
fn shutdown_telemetry(py: Python<'_>, strict: bool) -> PyResult<Py<PyAny>> {
    errors::guard(py, || {
        report_to_py(py, py.detach(logging::shutdown_report), strict)
    })
}

/// A telemetry report as a dict of its fields, or the loss raised when `strict`.
pub(crate) fn report_to_py(
    py: Python<'_>,
    report: logging::TelemetryReport,
    strict: bool,
) -> PyResult<Py<PyAny>> {
    use tasker_shared::host::report::{Case, outcome};
    let fields = outcome(report, strict, Case::Snake).map_err(|e| errors::to_py(py, e.into()))?;
    conversions::to_py(py, &fields)
}

/// In a forked child: abandon the parent's worker and exporter threads (they do not exist
/// here) and attach fresh telemetry.
#[pyfunction]
fn after_fork_in_child(py: Python<'_>) -> PyResult<()> {
    errors::guard(py, || {
        tasker_worker::abandon_after_fork();
        logging::reinitialize_after_fork().map_err(|e| errors::to_py(py, e.into()))
    })
}

/// Panics inside the extension, on purpose: shows that a Rust panic reaches Python as
/// `tasker_core.InternalError` and the interpreter lives on.
#[pyfunction]
fn raise_rust_panic(py: Python<'_>, message: String) -> PyResult<()> {
    errors::guard(py, || -> PyResult<()> { std::panic::panic_any(message) })
}

static FORWARDED: Mutex<Option<Receiver<LogRecord>>> = Mutex::new(None);

/// Starts forwarding Rust records at `level_name` or above into a bounded buffer.
#[pyfunction]
#[pyo3(signature = (level_name="info", capacity=10_000))]
fn start_log_forwarding(py: Python<'_>, level_name: &str, capacity: usize) -> PyResult<()> {
    let _ = py;
    let rx = forward::forward_logs(level(level_name)?, capacity);
    *FORWARDED.lock().unwrap_or_else(PoisonError::into_inner) = Some(rx);
    Ok(())
}

/// Up to `max_records` forwarded records as dicts, waiting up to `timeout` seconds (GIL
/// released) for the first. Empty list on timeout; None once forwarding stopped.
#[pyfunction]
#[pyo3(signature = (max_records=256, timeout=0.5))]
fn next_log_records(
    py: Python<'_>,
    max_records: usize,
    timeout: f64,
) -> PyResult<Option<Py<PyList>>> {
    errors::guard(py, || {
        let wait = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::ZERO);
        let batch = py.detach(|| {
            let guard = FORWARDED.lock().unwrap_or_else(PoisonError::into_inner);
            let rx = guard.as_ref()?;
            let mut batch = Vec::new();
            match rx.recv_timeout(wait) {
                Ok(r) => batch.push(r),
                Err(RecvTimeoutError::Timeout) => return Some(batch),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
            while batch.len() < max_records {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            Some(batch)
        });
        let Some(batch) = batch else { return Ok(None) };
        let list = PyList::empty(py);
        for r in batch {
            let d = PyDict::new(py);
            d.set_item("level", r.level.as_str())?;
            d.set_item("target", r.target)?;
            d.set_item("message", r.message)?;
            d.set_item(
                "fields",
                conversions::to_py(py, &serde_json::Value::Object(r.fields))?,
            )?;
            d.set_item("span", r.span)?;
            d.set_item("timestamp", r.timestamp)?;
            list.append(d)?;
        }
        Ok(Some(list.unbind()))
    })
}

#[pyfunction]
fn stop_log_forwarding() {
    forward::stop_forwarding();
    FORWARDED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
}

#[pyfunction]
fn forwarded_logs_dropped() -> u64 {
    forward::forwarded_dropped()
}
