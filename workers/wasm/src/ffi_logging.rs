//! Phase 1, at module start: console logging through `console.log`, with no runtime.

use js_sys::Reflect;
use tasker_shared::logging::{self, TelemetryConfig};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

fn console_sink(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

/// A variable from `globalThis`, else from Node's `process.env`.
pub(crate) fn host_var(key: &str) -> Option<String> {
    let global = js_sys::global();
    let direct = Reflect::get(&global, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null());
    let from_env = || {
        let process = Reflect::get(&global, &"process".into()).ok()?;
        let env = Reflect::get(&process, &"env".into())
            .ok()
            .filter(|e| e.is_object())?;
        Reflect::get(&env, &key.into()).ok()
    };
    let v = direct.or_else(from_env)?;
    if let Some(b) = v.as_bool() {
        return Some(b.to_string());
    }
    v.as_string()
}

/// The telemetry config a JS host gives through `globalThis` and `process.env`.
pub(crate) fn host_config() -> TelemetryConfig {
    TelemetryConfig::from_lookup(host_var)
}

#[wasm_bindgen(start)]
pub fn init_wasm() {
    console_error_panic_hook::set_once();
    logging::set_console_sink(console_sink);
    logging::init_ffi_console("wasm", Some(host_config()));
}
