//! JS values ↔ JSON values, through the engine's own `JSON`: what `JSON.stringify` accepts
//! crosses; a cycle, a BigInt or a function is a clear `CONVERSION` error.

use js_sys::JSON;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use crate::errors::WasmError;

/// Converts a JS value to JSON; `what` names it in errors.
pub(crate) fn to_json(v: &JsValue, what: &str) -> Result<Value, WasmError> {
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    let text = JSON::stringify(v).map_err(|e| {
        WasmError::new(
            "CONVERSION",
            format!("{what} is not JSON: {}", describe(&e)),
        )
    })?;
    let Some(text) = text.as_string() else {
        return Err(WasmError::new(
            "CONVERSION",
            format!(
                "{what} is not JSON (a {})",
                v.js_typeof().as_string().unwrap_or_default()
            ),
        ));
    };
    serde_json::from_str(&text)
        .map_err(|e| WasmError::new("CONVERSION", format!("{what} is not JSON: {e}")))
}

/// Converts JSON to a JS value.
pub(crate) fn to_js(v: &Value) -> Result<JsValue, WasmError> {
    JSON::parse(&v.to_string()).map_err(|e| WasmError::new("INTERNAL", describe(&e)))
}

/// A thrown value's message.
pub(crate) fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}
