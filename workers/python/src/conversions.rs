//! Python values ↔ JSON values, the one place types cross the boundary.
//!
//! Python → JSON accepts None, bool, int (64-bit), finite float, str, list, tuple and dict
//! with str keys. Anything else is a `tasker_core.ConversionError` (a `TypeError`) naming
//! the value's type and where it was found.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

use crate::errors;

const MAX_DEPTH: usize = 128;

fn fail(py: Python<'_>, msg: String) -> PyErr {
    errors::of_kind(py, tasker_shared::host::ErrorKind::Conversion, msg)
}

/// Converts a Python value to JSON; `path` names it in errors (e.g. `result`).
pub(crate) fn to_json(v: &Bound<'_, PyAny>, path: &str) -> PyResult<Json> {
    convert(v, path, 0)
}

fn convert(v: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Json> {
    let py = v.py();
    if depth > MAX_DEPTH {
        return Err(fail(
            py,
            format!("{path} is nested more than {MAX_DEPTH} levels deep (is it cyclic?)"),
        ));
    }
    if v.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if v.cast::<PyInt>().is_ok() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Json::from(i));
        }
        return v
            .extract::<u64>()
            .map(Json::from)
            .map_err(|_| fail(py, format!("{path} is an int outside the 64-bit range")));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| fail(py, format!("{path} is {x}, which JSON cannot hold")));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Json::String(s.extract::<String>()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, item) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                fail(
                    py,
                    format!(
                        "{path} has a {} key; JSON object keys must be str",
                        type_name(&k)
                    ),
                )
            })?;
            let key = key.extract::<String>()?;
            let j = convert(&item, &format!("{path}[{key:?}]"), depth + 1)?;
            map.insert(key, j);
        }
        return Ok(Json::Object(map));
    }
    let items: Option<Vec<Bound<'_, PyAny>>> = if let Ok(l) = v.cast::<PyList>() {
        Some(l.iter().collect())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        Some(t.iter().collect())
    } else {
        None
    };
    if let Some(items) = items {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| convert(item, &format!("{path}[{i}]"), depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Json::Array);
    }
    Err(fail(
        py,
        format!(
            "{path} is a {}, which is not JSON (use dict, list, str, int, float, bool or None)",
            type_name(v)
        ),
    ))
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// Converts JSON to Python.
pub(crate) fn to_py(py: Python<'_>, j: &Json) -> PyResult<Py<PyAny>> {
    Ok(match j {
        Json::Null => py.None(),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any().unbind(),
        Json::Array(items) => {
            let l = PyList::empty(py);
            for item in items {
                l.append(to_py(py, item)?)?;
            }
            l.into_any().unbind()
        }
        Json::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any().unbind()
        }
    })
}
