//! The application's own OpenTelemetry spans, nested in the step's trace. The logic lives in
//! `js/otel.js`, beside the API it drives: each of its calls here is one crossing, where
//! doing the same through `Reflect` would be a dozen. Rust only decides whether a handler
//! goes through it, so that an application without `@opentelemetry/api` pays nothing.

use std::cell::Cell;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::errors::WasmError;

// `raw_module`: the build puts otel.js beside the glue, as CommonJS in the Node package and
// as an ES module in the web bundle (wasm-bindgen's own snippets are not CommonJS).
#[wasm_bindgen(raw_module = "./otel.js")]
extern "C" {
    #[wasm_bindgen(js_name = otelActive)]
    fn otel_active() -> bool;
    #[wasm_bindgen(js_name = otelConfigure, catch)]
    fn otel_configure(api: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = otelRunHandler, catch)]
    fn otel_run_handler(handler: &Function, ctx: &Object) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = otelHandlerTimedOut)]
    fn otel_handler_timed_out(ctx: &Object, ms: f64);
}

thread_local! {
    // Whether the API is in use; looked up (Node: required) at the first step, not at load.
    static ACTIVE: Cell<Option<bool>> = const { Cell::new(None) };
}

fn active() -> bool {
    ACTIVE.with(|a| {
        a.get().unwrap_or_else(|| {
            let on = otel_active();
            a.set(Some(on));
            on
        })
    })
}

/// `bootstrapWorker`'s `openTelemetry` option: the API module, or `false` for none.
pub(crate) fn configure(api: &JsValue) -> Result<(), WasmError> {
    otel_configure(api).map_err(|e| {
        let message = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| "openTelemetry is not the @opentelemetry/api module".to_owned());
        WasmError::new("CONFIGURATION", message)
    })?;
    ACTIVE.with(|a| a.set(None));
    Ok(())
}

/// Calls `handler(ctx)`: inside the step's OpenTelemetry context and a `tasker.handler`
/// span where the API is in use, else directly. A synchronous throw becomes a rejection.
pub(crate) fn call(handler: &Function, ctx: &Object) -> Promise {
    let returned = if active() {
        otel_run_handler(handler, ctx)
    } else {
        handler
            .call1(&JsValue::NULL, ctx)
            .map(|v| Promise::resolve(&v))
    };
    returned.unwrap_or_else(|thrown| Promise::reject(&thrown))
}

/// Ends the handler span of a step that ran out of time (its handler may never settle).
pub(crate) fn timed_out(ctx: &Object, ms: f64) {
    if ACTIVE.with(Cell::get) == Some(true) {
        otel_handler_timed_out(ctx, ms);
    }
}
