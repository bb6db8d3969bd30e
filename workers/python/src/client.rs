//! `tasker_core._tasker_core.Client`: submits tasks to the PostgreSQL queues and reads them
//! back (`tasker_worker::Client`); waits release the GIL.

use pyo3::prelude::*;
use tasker_shared::host::ErrorKind;
use tasker_worker::Client;

use crate::bootstrap::{context_from, template_from, to_py_dict};
use crate::errors::{self, PyHost};

#[pyclass(name = "Client", module = "tasker_core._tasker_core", frozen)]
pub(crate) struct PyClient(Client);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyClient>()
}

fn uuid(py: Python<'_>, task_uuid: &str) -> PyResult<uuid::Uuid> {
    uuid::Uuid::parse_str(task_uuid).map_err(|_| {
        errors::of_kind(
            py,
            ErrorKind::Conversion,
            format!("task_uuid {task_uuid:?} is not a UUID"),
        )
    })
}

#[pymethods]
impl PyClient {
    /// Connects to `database_url` (None: TASKER_DATABASE_URL, then DATABASE_URL) and checks
    /// that it is migrated.
    #[staticmethod]
    #[pyo3(signature = (database_url=None))]
    fn connect(py: Python<'_>, database_url: Option<String>) -> PyResult<Self> {
        errors::guard(py, || {
            py.detach(|| Client::connect(database_url.as_deref()))
                .map(PyClient)
                .map_err(|e| errors::to_py(py, e))
        })
    }

    #[pyo3(signature = (template, context=None))]
    fn submit(
        &self,
        py: Python<'_>,
        template: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let template = template_from(py, template)?;
            let context = context_from(context)?;
            let out = py
                .detach(|| self.0.submit(template, context))
                .map_err(|e| errors::to_py(py, e))?;
            to_py_dict(py, &out)
        })
    }

    fn status(&self, py: Python<'_>, task_uuid: &str) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let id = uuid(py, task_uuid)?;
            let out = py
                .detach(|| self.0.status(id))
                .map_err(|e| errors::to_py(py, e))?;
            to_py_dict(py, &out)
        })
    }

    #[pyo3(signature = (task_uuid, timeout=None))]
    fn wait(&self, py: Python<'_>, task_uuid: &str, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        errors::guard(py, || {
            let id = uuid(py, task_uuid)?;
            let timeout =
                tasker_shared::host::timeout_seconds(timeout).map_err(|e| errors::to_py(py, e))?;
            let out = self.0.wait(&PyHost(py), id, timeout)?;
            to_py_dict(py, &out)
        })
    }

    #[getter]
    fn database_url(&self) -> String {
        self.0.database_url()
    }
}
