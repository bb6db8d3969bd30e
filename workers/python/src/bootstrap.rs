//! Phase 2: `Worker.bootstrap(options)` starts (or returns) the process worker, which owns a
//! multi-thread Tokio runtime and starts telemetry export inside it.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use tasker_shared::TaskerError;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::Worker;

use crate::{bridge, conversions, errors};

/// How long one GIL-free wait lasts before Python gets to check for signals.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// The Python-side handle on the process worker.
#[pyclass(name = "Worker", module = "tasker_core._tasker_core", frozen)]
pub(crate) struct PyWorker(pub(crate) Worker);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWorker>()
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
    /// GIL released, in slices, so handler threads run and Ctrl-C is honoured; the waiting
    /// thread drives the task itself meanwhile. It never runs a handler: a handler cannot be
    /// pre-empted, and one that never returns must not keep the caller from its result.
    #[pyo3(signature = (template, context=None, timeout=None))]
    fn run_task(
        &self,
        py: Python<'_>,
        template: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let parsed = match template.cast::<PyString>() {
                Ok(path) => TaskTemplate::from_path(path.extract::<String>()?),
                Err(_) => TaskTemplate::from_value(conversions::to_json(template, "template")?),
            };
            let template = parsed.map_err(|e| errors::to_py(py, e.into()))?;
            let context = match context {
                Some(c) => conversions::to_json(c, "context")?,
                None => serde_json::Value::Object(Default::default()),
            };
            let timeout = timeout
                .map(|t| {
                    Duration::try_from_secs_f64(t).map_err(|_| {
                        PyValueError::new_err(format!(
                            "timeout must be a positive number of seconds, got {t}"
                        ))
                    })
                })
                .transpose()?;
            let mut run = self
                .0
                .start_task(template, context)
                .map_err(|e| errors::to_py(py, e))?;
            let deadline = timeout.map(|t| Instant::now() + t);
            loop {
                let slice = deadline.map_or(SLICE, |d| {
                    SLICE.min(d.saturating_duration_since(Instant::now()))
                });
                if let Some(result) = py
                    .detach(|| run.wait(slice))
                    .map_err(|e| errors::to_py(py, e))?
                {
                    let json =
                        serde_json::to_value(&result).map_err(|e| errors::to_py(py, e.into()))?;
                    return conversions::to_py(py, &json);
                }
                if let (Some(d), Some(t)) = (deadline, timeout) {
                    if Instant::now() >= d {
                        let millis = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
                        return Err(errors::to_py(
                            py,
                            TaskerError::TaskTimeout {
                                task_uuid: run.task_uuid(),
                                millis,
                            },
                        ));
                    }
                }
                // An interrupt leaves here with the run dropped: its task is cancelled.
                py.check_signals()?;
            }
        })
    }

    /// Drains in-flight steps and flushes telemetry.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        errors::guard(py, || {
            py.detach(|| self.0.stop())
                .map_err(|e| errors::to_py(py, e))
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
        bridge::wait_event(self, py, timeout)
    }

    /// The next step event if one is queued; never blocks.
    fn poll_event(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        bridge::poll_event(self, py)
    }

    /// Delivers a completion dict for `event_id`.
    fn complete(
        &self,
        py: Python<'_>,
        event_id: &str,
        completion: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        bridge::complete(self, py, event_id, completion)
    }

    #[getter]
    fn in_flight(&self) -> usize {
        self.0.bridge().in_flight()
    }
}
