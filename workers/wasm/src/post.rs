//! One batch POSTed to an OTLP/HTTP endpoint: its body as JS sees it, the configured
//! headers, gzip when asked for, and the export timeout. In Node through `node:http(s)`
//! ([`crate::node`]), in a browser through `fetch` (gzipped by `CompressionStream`).

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsValue;
#[cfg(not(feature = "node"))]
use {js_sys::Function, wasm_bindgen::JsCast, wasm_bindgen_futures::JsFuture};

use tasker_shared::otlp;

use crate::exporter::{Body, Post};

/// The payload as JS sees it, and its content type.
fn payload(body: &Body) -> (&'static str, JsValue) {
    match body {
        Body::Protobuf(bytes) => (
            otlp::PROTOBUF_CONTENT_TYPE,
            JsValue::from(js_sys::Uint8Array::from(bytes.as_slice())),
        ),
        Body::Json(text) => (otlp::JSON_CONTENT_TYPE, JsValue::from_str(text)),
    }
}

/// The request's headers: the configured ones, then the content type (and encoding), which
/// they cannot override.
fn headers(to: &Post, content_type: &str) -> Result<js_sys::Object, JsValue> {
    let headers = js_sys::Object::new();
    for (name, value) in &to.headers {
        Reflect::set(&headers, &name.as_str().into(), &value.as_str().into())?;
    }
    Reflect::set(&headers, &"content-type".into(), &content_type.into())?;
    if to.gzip {
        Reflect::set(&headers, &"content-encoding".into(), &"gzip".into())?;
    }
    Ok(headers)
}

/// Node: `node:http(s)` on a kept-alive socket (see [`crate::node`] for why not `fetch`).
#[cfg(feature = "node")]
pub(crate) fn post(to: &Post, body: &Body, timeout_ms: f64) -> Result<Promise, JsValue> {
    let (content_type, payload) = payload(body);
    let headers = headers(to, content_type)?;
    crate::node::post(&to.url, &headers, &payload, to.gzip, timeout_ms)
}

#[cfg(not(feature = "node"))]
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function gzip(body) {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer().then((b) => new Uint8Array(b));
}
"#)]
extern "C" {
    /// The body gzipped by the browser's `CompressionStream`.
    #[wasm_bindgen(catch)]
    fn gzip(body: &JsValue) -> Result<Promise, JsValue>;
}

/// A browser (or any host with `fetch`).
#[cfg(not(feature = "node"))]
pub(crate) fn post(to: &Post, body: &Body, timeout_ms: f64) -> Result<Promise, JsValue> {
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())?
        .dyn_into()
        .map_err(|_| {
            JsValue::from_str("fetch is not available: pass telemetry.exporter instead")
        })?;
    let init = js_sys::Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into())?;
    let (content_type, payload) = payload(body);
    let headers: JsValue = headers(to, content_type)?.into();
    Reflect::set(&init, &"headers".into(), &headers)?;
    // AbortSignal.timeout ends a request the collector never answers (Node 18+, browsers).
    if let Some(signal) = Reflect::get(&global, &"AbortSignal".into())
        .ok()
        .and_then(|a| {
            let t = Reflect::get(&a, &"timeout".into())
                .ok()?
                .dyn_into::<Function>()
                .ok()?;
            t.call1(&a, &JsValue::from_f64(timeout_ms)).ok()
        })
    {
        Reflect::set(&init, &"signal".into(), &signal)?;
    }
    let url = JsValue::from_str(&to.url);
    if !to.gzip {
        Reflect::set(&init, &"body".into(), &payload)?;
        return fetch.call2(&global, &url, &init)?.dyn_into::<Promise>();
    }
    let compressed = gzip(&payload)?;
    Ok(wasm_bindgen_futures::future_to_promise(async move {
        let body = JsFuture::from(compressed).await?;
        Reflect::set(&init, &"body".into(), &body)?;
        JsFuture::from(fetch.call2(&global, &url, &init)?.dyn_into::<Promise>()?).await
    }))
}
