//! `TaskerError` → a JS `Error` with a `code`, converted once here so `?` works everywhere.

use js_sys::Reflect;
use tasker_shared::TaskerError;
use wasm_bindgen::JsValue;

/// An error on its way to JavaScript.
#[derive(Debug)]
pub struct WasmError {
    code: &'static str,
    message: String,
}

impl WasmError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<TaskerError> for WasmError {
    fn from(e: TaskerError) -> Self {
        Self::new(e.kind().js_code(), e.to_string())
    }
}

impl From<tasker_shared::workflow::TemplateError> for WasmError {
    fn from(e: tasker_shared::workflow::TemplateError) -> Self {
        TaskerError::from(e).into()
    }
}

impl From<tasker_shared::logging::TelemetryError> for WasmError {
    fn from(e: tasker_shared::logging::TelemetryError) -> Self {
        TaskerError::from(e).into()
    }
}

impl From<WasmError> for JsValue {
    fn from(e: WasmError) -> Self {
        let err = js_sys::Error::new(&e.message);
        let _ = Reflect::set(&err, &"code".into(), &e.code.into());
        err.into()
    }
}
