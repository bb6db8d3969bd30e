//! Handlers and the call across the boundary: a step event becomes a JS context object, the
//! handler's (awaited) value or thrown Error becomes the completion. Handlers are promises on
//! the JS event loop, so many run at once without threads.

use std::cell::RefCell;
use std::collections::HashMap;

use futures::future::{Either, select};
use js_sys::{Function, Object, Promise, Reflect};
use serde_json::json;
use tasker_shared::host::error_types;
use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::conversions;
use crate::errors::WasmError;
use crate::otel;

thread_local! {
    static HANDLERS: RefCell<HashMap<String, Function>> = RefCell::new(HashMap::new());
}

/// Registers `handler` (an async function of the step context) under the name templates use.
#[wasm_bindgen(js_name = registerHandler)]
pub fn register_handler(
    #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    #[wasm_bindgen(unchecked_param_type = "StepHandler")] handler: JsValue,
) -> Result<(), WasmError> {
    // Typed as JsValue and checked here: a number or a symbol passed where wasm-bindgen
    // expects a string would reach the glue as a bad pointer, not as a clear error.
    let name = match name.as_string() {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(WasmError::new(
                "CONFIGURATION",
                format!(
                    "a handler name must be a non-empty string, got {}",
                    conversions::kind(&name)
                ),
            ));
        }
    };
    let f = handler.dyn_into::<Function>().map_err(|_| {
        WasmError::new(
            "CONFIGURATION",
            format!("the handler for {name:?} must be a function of the step context"),
        )
    })?;
    HANDLERS.with(|h| h.borrow_mut().insert(name, f));
    Ok(())
}

/// Calls `fn()` `n` times from Rust, with nothing else around the call: the floor under
/// every call the worker makes into JavaScript (a step's handler is one). A throw
/// propagates as it was thrown.
#[wasm_bindgen(js_name = ffiFloor)]
pub fn ffi_floor(
    #[wasm_bindgen(unchecked_param_type = "() => unknown")] f: &Function,
    n: u32,
) -> Result<(), JsValue> {
    for _ in 0..n {
        f.call0(&JsValue::UNDEFINED)?;
    }
    Ok(())
}

pub(crate) fn is_registered(name: &str) -> bool {
    HANDLERS.with(|h| h.borrow().contains_key(name))
}

fn handler(name: &str) -> Option<Function> {
    HANDLERS.with(|h| h.borrow().get(name).cloned())
}

/// How one call ended.
pub(crate) enum Outcome {
    Completed(StepExecutionCompletionEvent),
    TimedOut,
}

/// A promise that resolves after `ms` milliseconds (the host's `setTimeout`). When dropped
/// early, the timer is cleared and the promise resolved on the spot: a finished handler
/// leaves no timer keeping Node alive, and no promise that never settles (wasm-bindgen's
/// future callbacks are only freed when their promise settles).
pub(crate) struct Sleep {
    future: JsFuture,
    id: JsValue,
    resolve: Option<Function>,
}

impl std::future::Future for Sleep {
    type Output = Result<JsValue, JsValue>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.future).poll(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let global = js_sys::global();
        if let Ok(clear) =
            Reflect::get(&global, &"clearTimeout".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = clear.call1(&global, &self.id);
        }
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

pub(crate) fn sleep(ms: f64) -> Sleep {
    let mut id = JsValue::UNDEFINED;
    let mut resolver = None;
    let promise = Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        if let Ok(set_timeout) =
            Reflect::get(&global, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>())
        {
            id = set_timeout
                .call2(&global, &resolve, &JsValue::from_f64(ms))
                .unwrap_or(JsValue::UNDEFINED);
        }
        resolver = Some(resolve);
    });
    Sleep {
        future: JsFuture::from(promise),
        id,
        resolve: resolver,
    }
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &key.into(), value);
}

fn opt(v: &Option<String>) -> JsValue {
    v.as_deref().map_or(JsValue::NULL, JsValue::from_str)
}

/// The handler's `ctx` (camelCase, as JS expects).
fn context(event: &StepExecutionEvent) -> Result<Object, WasmError> {
    let seq = &event.task_sequence_step;
    let ctx = Object::new();
    set(&ctx, "taskUuid", &event.task_uuid.to_string().into());
    set(&ctx, "stepUuid", &event.step_uuid.to_string().into());
    set(&ctx, "stepName", &seq.workflow_step.name.as_str().into());
    set(&ctx, "namespace", &seq.task.namespace_name.as_str().into());
    set(
        &ctx,
        "correlationId",
        &event.correlation_id.to_string().into(),
    );
    set(&ctx, "traceId", &opt(&event.trace_id));
    set(&ctx, "spanId", &opt(&event.span_id));
    set(&ctx, "traceparent", &opt(&event.traceparent));
    set(&ctx, "input", &conversions::to_js(&seq.task.context)?);
    set(
        &ctx,
        "dependencyResults",
        &conversions::to_js(&serde_json::Value::Object(seq.dependency_results.clone()))?,
    );
    set(&ctx, "attempt", &JsValue::from(seq.workflow_step.attempt));
    Ok(ctx)
}

fn string_prop(obj: &JsValue, key: &str) -> Option<String> {
    Reflect::get(obj, &key.into())
        .ok()
        .and_then(|v| v.as_string())
}

/// Runs the event's handler with a timeout. The completion carries the ids found on `ctx`
/// afterwards: the event's, unless the handler put its own child span's there.
pub(crate) async fn call(event: &StepExecutionEvent, timeout_ms: f64) -> Outcome {
    let name = &event.task_sequence_step.workflow_step.handler;
    let mut completion = StepExecutionCompletionEvent::for_event(event, false);
    let fail = |mut c: StepExecutionCompletionEvent,
                message: String,
                error_type: &str,
                retryable: bool| {
        c.error_message = Some(message);
        c.metadata = Some(json!({"error_type": error_type, "retryable": retryable}));
        Outcome::Completed(c)
    };
    let Some(f) = handler(name) else {
        return fail(
            completion,
            format!("no JS handler registered as {name:?}"),
            error_types::UNKNOWN_HANDLER,
            false,
        );
    };
    let ctx = match context(event) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                completion,
                JsValue::from(e).as_string().unwrap_or_default(),
                error_types::INTERNAL_ERROR,
                false,
            );
        }
    };
    let started = js_sys::Date::now();
    let returned = JsFuture::from(otel::call(&f, &ctx));
    let settled = match select(returned, sleep(timeout_ms)).await {
        Either::Left((r, _)) => r,
        Either::Right(_) => {
            otel::timed_out(&ctx, timeout_ms);
            return Outcome::TimedOut;
        }
    };
    // A handler that blocks the event loop (synchronous work) cannot be pre-empted, and the
    // timer cannot fire while it runs: it is recorded as timed out once it returns late.
    if js_sys::Date::now() - started > timeout_ms {
        return Outcome::TimedOut;
    }
    completion.trace_id = string_prop(&ctx, "traceId").or(completion.trace_id);
    completion.span_id = string_prop(&ctx, "spanId").or(completion.span_id);
    match settled {
        Ok(value) => match conversions::to_json(&value, "the handler's result") {
            Ok(result) => {
                completion.success = true;
                completion.result = Some(result);
                Outcome::Completed(completion)
            }
            Err(e) => fail(
                completion,
                JsValue::from(e)
                    .dyn_into::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_default(),
                error_types::INVALID_RESULT,
                false,
            ),
        },
        Err(thrown) => {
            let retryable = Reflect::get(&thrown, &"retryable".into())
                .ok()
                .and_then(|v| v.as_bool())
                != Some(false);
            let error_type = string_prop(&thrown, "name").unwrap_or_else(|| "Error".to_owned());
            fail(
                completion,
                conversions::describe(&thrown),
                &error_type,
                retryable,
            )
        }
    }
}
