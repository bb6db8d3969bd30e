//! Phase 2: `Worker.bootstrap(options)` starts (or returns) the process worker, which owns a
//! multi-thread Tokio runtime and starts telemetry export inside it. Running a task and
//! serving the queues are the core's blocking-host loops (`tasker_worker::blocking`), with
//! the GIL released.

use pyo3::prelude::*;
use pyo3::types::PyString;
use tasker_shared::host::{self, TemplateInput};
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::Worker;

use crate::errors::PyHost;
use crate::ffi_logging::report_to_py;
use crate::{bridge, conversions, errors};

/// The Python-side handle on the process worker.
#[pyclass(name = "Worker", module = "tasker_core._tasker_core", frozen)]
pub(crate) struct PyWorker(pub(crate) Worker);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWorker>()
}

/// A template path (str) or dict.
pub(crate) fn template_from(py: Python<'_>, template: &Bound<'_, PyAny>) -> PyResult<TaskTemplate> {
    let input = match template.cast::<PyString>() {
        Ok(path) => TemplateInput::Path(path.extract::<String>()?),
        Err(_) => TemplateInput::Value(conversions::to_json(template, "template")?),
    };
    host::template(input).map_err(|e| errors::to_py(py, e))
}

/// A task context, `{}` when None.
pub(crate) fn context_from(context: Option<&Bound<'_, PyAny>>) -> PyResult<serde_json::Value> {
    match context {
        Some(c) => conversions::to_json(c, "context"),
        None => Ok(serde_json::Value::Object(Default::default())),
    }
}

/// A result (task, report) as a dict.
pub(crate) fn to_py_dict<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| errors::to_py(py, e.into()))?;
    conversions::to_py(py, &json)
}

#[pymethods]
impl PyWorker {
    /// Starts the process worker, or returns the running one.
    #[staticmethod]
    #[pyo3(signature = (options=None))]
    fn bootstrap(py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        errors::guard(py, || {
            let opts = match options {
                Some(o) => conversions::to_json(o, "options")?,
                None => serde_json::Value::Null,
            };
            py.detach(|| tasker_worker::bootstrap_from_options(&opts, "python"))
                .map(PyWorker)
                .map_err(|e| errors::to_py(py, e))
        })
    }

    fn register_handler(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        errors::guard(py, || {
            self.0
                .register_handler(name)
                .map_err(|e| errors::to_py(py, e))
        })
    }

    /// Runs a task (a template path or dict) and returns its result as a dict. Waits with the
    /// GIL released while this thread drives the task; handlers run on the host threads. An
    /// interrupt leaves with the run dropped, which cancels the task.
    #[pyo3(signature = (template, context=None, timeout=None))]
    fn run_task(
        &self,
        py: Python<'_>,
        template: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let template = template_from(py, template)?;
            let context = context_from(context)?;
            let timeout = host::timeout_seconds(timeout).map_err(|e| errors::to_py(py, e))?;
            let result = self
                .0
                .start_task(template, context)
                .map_err(|e| errors::to_py(py, e))?
                .finish(&PyHost(py), timeout)?;
            to_py_dict(py, &result)
        })
    }

    /// Serves the worker's queues until `stop_serving`, `stop`, or an interrupt; returns
    /// `{claimed, recorded, duplicates, redelivered}` once drained.
    fn serve(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let report = self.0.serve_blocking(&PyHost(py))?;
            to_py_dict(py, &report)
        })
    }

    /// Asks `serve` to stop claiming and drain; safe from a signal handler.
    fn stop_serving(&self) {
        self.0.stop_serving();
    }

    /// Raises what `stop` would refuse here (a forked child, a handler thread), before the
    /// Python side changes anything.
    fn check_stop(&self, py: Python<'_>) -> PyResult<()> {
        self.0.check_stop().map_err(|e| errors::to_py(py, e))
    }

    /// Drains in-flight steps and flushes telemetry; returns the telemetry report's fields
    /// (raises only for a caller's error, or a loss when `strict`).
    #[pyo3(signature = (strict = false))]
    fn stop(&self, py: Python<'_>, strict: bool) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let report = py
                .detach(|| self.0.stop())
                .map_err(|e| errors::to_py(py, e))?;
            report_to_py(py, report, strict)
        })
    }

    #[getter]
    fn worker_id(&self) -> String {
        self.0.worker_id().to_owned()
    }

    #[getter]
    fn stopped(&self) -> bool {
        self.0.is_stopped()
    }

    #[getter]
    fn web_address(&self) -> Option<String> {
        self.0.web_address().map(|a| a.to_string())
    }

    #[getter]
    fn handler_timeout(&self) -> f64 {
        self.0.config().handler_timeout.as_secs_f64()
    }

    /// The next step event as a dict, or None after `timeout` seconds.
    fn wait_event(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<Py<PyAny>>> {
        bridge::wait_event(&self.0, py, timeout)
    }

    /// The next step event if one is queued; never blocks.
    fn poll_event(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        bridge::poll_event(&self.0, py)
    }

    /// Delivers a completion dict for `event_id`.
    fn complete(
        &self,
        py: Python<'_>,
        event_id: &str,
        completion: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        bridge::complete(&self.0, py, event_id, completion)
    }

    #[getter]
    fn in_flight(&self) -> usize {
        self.0.bridge().in_flight()
    }
}
