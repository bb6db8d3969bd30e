//! Phase 1, at module start: console logging through `console.log`, with no runtime.

use js_sys::Reflect;
use tasker_shared::logging::{self, TelemetryConfig};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

thread_local! {
    /// Node's `process.stderr` and its `write`, looked up once; `None` in a browser.
    static STDERR: Option<(JsValue, js_sys::Function)> = {
        let global = js_sys::global();
        Reflect::get(&global, &"process".into())
            .ok()
            .filter(|p| p.is_object())
            .and_then(|p| Reflect::get(&p, &"stderr".into()).ok())
            .filter(|e| e.is_object())
            .and_then(|e| {
                let write = Reflect::get(&e, &"write".into()).ok()?;
                wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(write).ok().map(|w| (e, w))
            })
    };
}

/// Writes a line to Node's stderr, as the Ruby and Python workers log; in a browser, to the
/// console, which is the only place a page has.
pub(crate) fn write_stderr(line: &str) {
    let written = STDERR.with(|s| {
        s.as_ref().is_some_and(|(stderr, write)| {
            write
                .call1(stderr, &JsValue::from_str(&format!("{line}\n")))
                .is_ok()
        })
    });
    if !written {
        web_sys::console::log_1(&JsValue::from_str(line));
    }
}

fn console_sink(line: &str) {
    write_stderr(line);
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
