//! One batch POSTed to an OTLP/HTTP endpoint: its body as JS sees it, the configured
//! headers, gzip when asked for, and the export timeout. In Node through `node:http(s)`
//! ([`crate::node`]), in a browser through `fetch` (gzipped by `CompressionStream`).

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsValue;
#[cfg(not(feature = "node"))]
use {js_sys::Function, wasm_bindgen::JsCast, wasm_bindgen_futures::JsFuture};

use tasker_shared::otlp;

use crate::exporter::{Body, Post};

/// The payload as JS sees it.
fn payload(body: &Body) -> JsValue {
    match body {
        Body::Protobuf(bytes) => JsValue::from(js_sys::Uint8Array::from(bytes.as_slice())),
        Body::Json(text) => JsValue::from_str(text),
    }
}

/// The request's headers: the configured ones, then the content type (and encoding), which
/// they cannot override. The exit flush sends the same ones.
pub(crate) fn header_list<'a>(to: &'a Post, body: &Body) -> Vec<(&'a str, &'a str)> {
    let content_type = match body {
        Body::Protobuf(_) => otlp::PROTOBUF_CONTENT_TYPE,
        Body::Json(_) => otlp::JSON_CONTENT_TYPE,
    };
    let mut list: Vec<(&str, &str)> = to
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    list.push(("content-type", content_type));
    if to.gzip {
        list.push(("content-encoding", "gzip"));
    }
    list
}

fn headers(to: &Post, body: &Body) -> Result<js_sys::Object, JsValue> {
    let headers = js_sys::Object::new();
    for (name, value) in header_list(to, body) {
        Reflect::set(&headers, &name.into(), &value.into())?;
    }
    Ok(headers)
}

/// Node: `node:http(s)` on a kept-alive socket (see [`crate::node`] for why not `fetch`).
#[cfg(feature = "node")]
pub(crate) fn post(to: &Post, body: &Body, timeout_ms: f64) -> Result<Promise, JsValue> {
    let headers = headers(to, body)?;
    crate::node::post(&to.url, &headers, &payload(body), to.gzip, timeout_ms)
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
    let payload = payload(body);
    let headers: JsValue = headers(to, body)?.into();
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
