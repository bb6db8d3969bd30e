//! What only Node offers: requests through `node:http`/`node:https` with a keep-alive agent,
//! and a synchronous way out at `exit`. Compiled into the Node package (feature `node`); the
//! web bundle imports no Node module, sends with `fetch` and has no exit flush.
//!
//! Why not `fetch` in Node: undici's `fetch` costs about 1 ms of CPU per 150 KB request here
//! and keeps tens of MiB of buffers at its high-water mark; `http.request` on a kept-alive
//! socket costs about a quarter of that (measured beside each other in one process).

#[cfg(feature = "node")]
use wasm_bindgen::prelude::wasm_bindgen;

#[cfg(feature = "node")]
#[wasm_bindgen(module = "child_process")]
extern "C" {
    #[wasm_bindgen(js_name = execFileSync, catch)]
    fn exec_file_sync(
        file: &str,
        args: &js_sys::Array,
        options: &wasm_bindgen::JsValue,
    ) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
}

#[cfg(feature = "node")]
#[wasm_bindgen(module = "http")]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_name = request)]
    static HTTP_REQUEST: js_sys::Function;
    #[wasm_bindgen(thread_local_v2, js_name = Agent)]
    static HTTP_AGENT: js_sys::Function;
}

#[cfg(feature = "node")]
#[wasm_bindgen(module = "zlib")]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_name = gzip)]
    static GZIP: js_sys::Function;
}

#[cfg(feature = "node")]
#[wasm_bindgen(module = "https")]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_name = request)]
    static HTTPS_REQUEST: js_sys::Function;
    #[wasm_bindgen(thread_local_v2, js_name = Agent)]
    static HTTPS_AGENT: js_sys::Function;
}

/// `(request, agent, gzip, url, headers, body, ms, compress) => Promise<{ ok, status }>`: one
/// POST (its body gzipped first, on libuv's pool, when `compress`), its response drained so
/// the socket goes back to the agent, given up after `ms` of silence, sent again once if a
/// reused socket turns out closed. It settles as `fetch`
/// does for the exporter: resolved with the status, rejected on a network error.
#[cfg(feature = "node")]
const POST_ONE: &str = r#"
const send = (payload, retry = true) => new Promise((resolve, reject) => {
  const length = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
  const req = request(url, { method: "POST", agent, headers: { ...headers, "content-length": length } }, (res) => {
    res.on("error", reject);
    res.on("end", () => resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode }));
    res.resume();
  });
  req.setTimeout(ms, () => req.destroy(new Error(`timed out after ${ms} ms`)));
  // A kept-alive socket the collector closed meanwhile: the request never reached it, so
  // it is sent once more on a fresh socket (Node's own advice for idempotent requests).
  req.on("error", (e) => (retry && req.reusedSocket && e.code === "ECONNRESET" ? send(payload, false).then(resolve, reject) : reject(e)));
  req.end(payload);
});
if (!compress) return send(body);
return new Promise((resolve, reject) => gzip(body, (e, out) => (e ? reject(e) : resolve(out)))).then(send);
"#;

/// POSTs `body` (a `Uint8Array` or a string) to `url` with `headers`; what
/// [`crate::exporter`] awaits.
#[cfg(feature = "node")]
pub(crate) fn post(
    url: &str,
    headers: &js_sys::Object,
    body: &wasm_bindgen::JsValue,
    compress: bool,
    timeout_ms: f64,
) -> Result<js_sys::Promise, wasm_bindgen::JsValue> {
    use js_sys::{Array, Function, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    thread_local! {
        /// The poster and one agent per scheme, made on the first send.
        static POSTER: std::cell::OnceCell<(Function, JsValue, JsValue)> = const { std::cell::OnceCell::new() };
    }
    POSTER.with(|cell| {
        let (poster, http_agent, https_agent) = match cell.get() {
            Some(made) => made,
            None => {
                let poster = Function::new_with_args(
                    "request, agent, gzip, url, headers, body, ms, compress",
                    POST_ONE,
                );
                // Sockets stay open between batches; the agent unrefs idle ones, so they never
                // keep Node alive. As many sockets as the exporter has sends in flight.
                let options = js_sys::Object::new();
                Reflect::set(&options, &"keepAlive".into(), &JsValue::TRUE)?;
                Reflect::set(
                    &options,
                    &"maxSockets".into(),
                    &JsValue::from_f64(crate::exporter::MAX_IN_FLIGHT as f64),
                )?;
                let args = Array::of1(&options);
                let http = HTTP_AGENT.with(|a| Reflect::construct(a, &args))?;
                let https = HTTPS_AGENT.with(|a| Reflect::construct(a, &args))?;
                let _ = cell.set((poster, http, https));
                cell.get().ok_or_else(|| JsValue::from_str("no poster"))?
            }
        };
        let tls = url.starts_with("https:");
        let request = if tls {
            HTTPS_REQUEST.with(|f| f.clone())
        } else {
            HTTP_REQUEST.with(|f| f.clone())
        };
        let agent = if tls { https_agent } else { http_agent };
        let gzip = GZIP.with(|f| f.clone());
        let args = Array::new();
        for arg in [
            &request,
            agent,
            &gzip,
            &url.into(),
            headers,
            body,
            &JsValue::from_f64(timeout_ms),
            &JsValue::from_bool(compress),
        ] {
            args.push(arg);
        }
        poster
            .apply(&JsValue::NULL, &args)?
            .dyn_into::<js_sys::Promise>()
    })
}

/// Reads a JSON array of requests on stdin, each `{ headers, body }` (a string body is
/// OTLP/JSON, an array of numbers protobuf), and POSTs each to argv[1], each bounded by argv[2]
/// ms, its body gzipped first when argv[3] is "gzip"; exits 1 if any failed.
#[cfg(feature = "node")]
const POST_ALL: &str = r#"
const [url, ms, encoding] = process.argv.slice(1);
let data = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => { data += c; });
process.stdin.on("end", async () => {
  let failed = 0;
  for (const { headers, body: b } of JSON.parse(data)) {
    const raw = typeof b === "string" ? b : Uint8Array.from(b);
    const body = encoding === "gzip" ? require("zlib").gzipSync(raw) : raw;
    try {
      const r = await fetch(url, { method: "POST", headers, body,
                                   signal: AbortSignal.timeout(Number(ms)) });
      if (!r.ok) failed++;
    } catch { failed++; }
  }
  process.exit(failed ? 1 : 0);
});
"#;

/// POSTs `bodies` to `to` before this function returns, through a child `node` process
/// that the caller waits for (at most `bound_ms`): `exit` handlers cannot await a request.
#[cfg(feature = "node")]
pub(crate) fn post_synchronously(
    to: &crate::exporter::Post,
    bodies: &[crate::exporter::Body],
    bound_ms: f64,
) -> Result<(), String> {
    use crate::exporter::Body;
    use js_sys::{Array, Object, Reflect};
    use serde_json::{Map, Value};
    use wasm_bindgen::JsValue;

    let process = Reflect::get(&js_sys::global(), &"process".into()).map_err(|_| "no process")?;
    let node = Reflect::get(&process, &"execPath".into())
        .ok()
        .and_then(|p| p.as_string())
        .ok_or("process.execPath is not set")?;
    let args = Array::of3(
        &JsValue::from_str("-e"),
        &JsValue::from_str(POST_ALL),
        &JsValue::from_str(&to.url),
    );
    args.push(&JsValue::from_str(&bound_ms.to_string()));
    args.push(&JsValue::from_str(if to.gzip { "gzip" } else { "none" }));
    let options = Object::new();
    let bodies: Vec<Value> = bodies
        .iter()
        .map(|b| {
            let headers: Map<String, Value> = crate::post::header_list(to, b)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect();
            let body = match b {
                Body::Json(text) => Value::from(text.as_str()),
                Body::Protobuf(bytes) => Value::from(bytes.as_slice()),
            };
            serde_json::json!({ "headers": headers, "body": body })
        })
        .collect();
    let input = serde_json::to_string(&bodies).map_err(|e| e.to_string())?;
    let _ = Reflect::set(&options, &"input".into(), &input.into());
    let _ = Reflect::set(&options, &"timeout".into(), &JsValue::from_f64(bound_ms));
    let stdio = Array::of3(&"pipe".into(), &"ignore".into(), &"inherit".into());
    let _ = Reflect::set(&options, &"stdio".into(), &stdio);
    exec_file_sync(&node, &args, &options)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "the exit flush failed: {}",
                crate::conversions::describe(&e)
            )
        })
}

#[cfg(not(feature = "node"))]
pub(crate) fn post_synchronously(
    _to: &crate::exporter::Post,
    _bodies: &[crate::exporter::Body],
    _bound_ms: f64,
) -> Result<(), String> {
    Err("this build (the web bundle) has no synchronous exit flush".to_owned())
}
