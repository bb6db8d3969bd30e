//! What `worker.stop()` and `worker.flush()` resolve to: the exporter's counts, and the
//! reason when spans were lost. Telemetry never rejects a stop unless `{ strict: true }`
//! asked for it (the core's one rule, `host::report::outcome`).

use js_sys::{Object, Reflect};
use tasker_shared::host::report::{Case, outcome};
use tasker_shared::logging::{self, TelemetryError, TelemetryReport, TelemetryStats};
use wasm_bindgen::JsValue;

use crate::errors::WasmError;
use crate::{conversions, exporter};

/// `{ strict?: boolean }`, or undefined. Anything else is refused, naming it.
pub(crate) fn strict(options: Option<&JsValue>, method: &str) -> Result<bool, WasmError> {
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(false);
    };
    let refuse = |what: String| WasmError::new("CONFIGURATION", format!("{method} options {what}"));
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(refuse(format!(
            "must be an object, got {}",
            conversions::kind(options)
        )));
    }
    let mut strict = false;
    for key in Object::keys(&Object::from(options.clone())).iter() {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(options, &key).unwrap_or(JsValue::UNDEFINED);
        match name.as_str() {
            "strict" if value.is_undefined() => {}
            "strict" => {
                strict = value.as_bool().ok_or_else(|| {
                    refuse(format!(
                        "strict must be a boolean, got {}",
                        conversions::kind(&value)
                    ))
                })?;
            }
            _ => return Err(refuse(format!("have no {name:?} (known: strict)"))),
        }
    }
    Ok(strict)
}

/// The report of a flush (`shutdown` false) or a stop, from the exporter's outcome: the
/// loss logged once as a WARN, then resolved as a field, or rejected when `strict`.
pub(crate) fn settle(
    flushed: Result<(), String>,
    shutdown: bool,
    strict: bool,
) -> Result<JsValue, WasmError> {
    let t = exporter::totals();
    let error = flushed.err().map(|e| {
        if shutdown {
            TelemetryError::Shutdown(e)
        } else {
            TelemetryError::Flush(e)
        }
    });
    let report = TelemetryReport {
        stats: TelemetryStats {
            spans_exported: t.exported,
            spans_failed: t.failed,
            spans_dropped: t.dropped,
            spans_dropped_before_bootstrap: logging::telemetry_stats()
                .spans_dropped_before_bootstrap,
            last_error: error.as_ref().map(ToString::to_string),
        },
        error,
    }
    .warn_if_lost(if shutdown { "shutdown" } else { "flush" });
    conversions::to_js(&outcome(report, strict, Case::Camel)?)
}
