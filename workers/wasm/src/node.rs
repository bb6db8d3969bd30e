//! What only Node offers: a synchronous way out at `exit`. Compiled into the Node package
//! (feature `node`); the web bundle imports no Node module and has no exit flush.

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

/// Reads a JSON array of bodies on stdin (a string is OTLP/JSON, an array of numbers is
/// protobuf) and POSTs each to argv[1], each bounded by argv[2] ms; exits 1 if any failed.
#[cfg(feature = "node")]
const POST_ALL: &str = r#"
const [url, ms] = process.argv.slice(1);
let data = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => { data += c; });
process.stdin.on("end", async () => {
  let failed = 0;
  for (const b of JSON.parse(data)) {
    const json = typeof b === "string";
    const body = json ? b : Uint8Array.from(b);
    const type = json ? "application/json" : "application/x-protobuf";
    try {
      const r = await fetch(url, { method: "POST", headers: { "content-type": type }, body,
                                   signal: AbortSignal.timeout(Number(ms)) });
      if (!r.ok) failed++;
    } catch { failed++; }
  }
  process.exit(failed ? 1 : 0);
});
"#;

/// POSTs `bodies` to `url` before this function returns, through a child `node` process
/// that the caller waits for (at most `bound_ms`): `exit` handlers cannot await a fetch.
#[cfg(feature = "node")]
pub(crate) fn post_synchronously(
    url: &str,
    bodies: &[crate::exporter::Body],
    bound_ms: f64,
) -> Result<(), String> {
    use crate::exporter::Body;
    use js_sys::{Array, Object, Reflect};
    use wasm_bindgen::JsValue;

    let process = Reflect::get(&js_sys::global(), &"process".into()).map_err(|_| "no process")?;
    let node = Reflect::get(&process, &"execPath".into())
        .ok()
        .and_then(|p| p.as_string())
        .ok_or("process.execPath is not set")?;
    let args = Array::of3(
        &JsValue::from_str("-e"),
        &JsValue::from_str(POST_ALL),
        &JsValue::from_str(url),
    );
    args.push(&JsValue::from_str(&bound_ms.to_string()));
    let options = Object::new();
    let bodies: Vec<serde_json::Value> = bodies
        .iter()
        .map(|b| match b {
            Body::Json(text) => serde_json::Value::from(text.as_str()),
            Body::Protobuf(bytes) => serde_json::Value::from(bytes.as_slice()),
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
    _url: &str,
    _bodies: &[crate::exporter::Body],
    _bound_ms: f64,
) -> Result<(), String> {
    Err("this build (the web bundle) has no synchronous exit flush".to_owned())
}
