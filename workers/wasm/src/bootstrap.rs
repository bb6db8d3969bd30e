//! Phase 2: `bootstrapWorker(options)` attaches telemetry export and returns the worker.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Reflect};
use tasker_shared::host::TemplateInput;
use tasker_shared::host::options::{self, Naming};
use tasker_shared::logging::{self, Compression, OtlpProtocol, TelemetryConfig};
use tasker_shared::workflow::TaskTemplate;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::conversions;
use crate::errors::WasmError;
use crate::exporter::{self, JsExporter, Target};
use crate::{bridge, driver, ffi_logging, report};

struct Inner {
    concurrency: usize,
    handler_timeout_ms: f64,
    telemetry: TelemetryConfig,
    /// The exporter callback it was started with, if any (compared by identity).
    exporter: Option<JsValue>,
    running: Cell<usize>,
    stopped: Cell<bool>,
}

impl std::fmt::Debug for WasmWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("concurrency", &self.inner.concurrency)
            .field("running", &self.inner.running.get())
            .field("stopped", &self.inner.stopped.get())
            .finish()
    }
}

/// The worker. Clones share one worker.
#[wasm_bindgen(js_name = Worker)]
#[derive(Clone)]
pub struct WasmWorker {
    inner: Rc<Inner>,
}

thread_local! {
    static CURRENT: RefCell<Option<WasmWorker>> = const { RefCell::new(None) };
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A worker option that must be a positive number (the shared rule, `host::options`).
fn positive(obj: &JsValue, key: &str, integer: bool) -> Result<Option<f64>, WasmError> {
    let Some(v) = get(obj, key) else {
        return Ok(None);
    };
    let v = conversions::to_json(&v, key)?;
    Ok(Some(if integer {
        options::positive_int(&v, key)? as f64
    } else {
        options::positive_number(&v, key, "milliseconds")?
    }))
}

const WORKER_KEYS: &[&str] = &[
    "concurrency",
    "handlerTimeoutMs",
    "telemetry",
    "openTelemetry",
];
const TELEMETRY_KEYS: &[&str] = &[
    "enabled",
    "endpoint",
    "tracesEndpoint",
    "protocol",
    "headers",
    "timeoutMs",
    "compression",
    "serviceName",
    "sampleRatio",
    "exporter",
];

/// Refuses `obj` unless it is undefined/null or a plain object whose keys are all `known`.
fn check_keys(obj: &JsValue, known: &[&str], what: &str) -> Result<(), WasmError> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(());
    }
    if !obj.is_object() || js_sys::Array::is_array(obj) || obj.is_function() {
        return Err(WasmError::new(
            "CONFIGURATION",
            format!("{what} must be an object, got {}", conversions::kind(obj)),
        ));
    }
    for key in js_sys::Object::keys(obj.unchecked_ref::<js_sys::Object>()).iter() {
        let k = key.as_string().unwrap_or_default();
        if !known.contains(&k.as_str()) {
            return Err(WasmError::new(
                "CONFIGURATION",
                format!("unknown {what} option {k:?} (known: {})", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Telemetry options over `globalThis` / `process.env`: the shared rules
/// (`host::options::telemetry`, camelCase), and the `exporter` callback, which is JS's own.
fn telemetry(options: &JsValue) -> Result<(TelemetryConfig, Option<Target>), WasmError> {
    let mut config = ffi_logging::host_config();
    let t = get(options, "telemetry").unwrap_or(JsValue::UNDEFINED);
    check_keys(&t, TELEMETRY_KEYS, "telemetry")?;
    if !t.is_undefined() && !t.is_null() {
        let values = js_sys::Object::assign(&js_sys::Object::new(), t.unchecked_ref());
        let _ = Reflect::delete_property(&values, &"exporter".into());
        let json = conversions::to_json(&values, "telemetry")?;
        config = options::telemetry(config, &json, Naming::Camel, &[])?;
    }
    let target = match get(&t, "exporter") {
        Some(f) => Some(Target::Callback(f.dyn_into::<Function>().map_err(
            |_| WasmError::new("CONFIGURATION", "telemetry.exporter must be a function"),
        )?)),
        None if config.enabled => Some(Target::Post(exporter::Post {
            url: config.signal_endpoint("traces"),
            headers: config.headers.clone(),
            gzip: config.compression == Compression::Gzip,
            json: match config.protocol {
                OtlpProtocol::HttpProtobuf => false,
                OtlpProtocol::HttpJson => true,
                OtlpProtocol::Grpc => {
                    return Err(WasmError::new(
                        "CONFIGURATION",
                        "telemetry protocol \"grpc\" is not available in the wasm worker (it sends OTLP over HTTP): use http/protobuf or http/json",
                    ));
                }
            },
        })),
        None => None,
    };
    if target.is_some() {
        config.enabled = true;
    }
    Ok((config, target))
}

/// Starts the worker (phase 2: telemetry export), or returns the running one when the
/// options ask for nothing different. Options are checked on every call.
#[wasm_bindgen(js_name = bootstrapWorker)]
pub async fn bootstrap_worker(
    #[wasm_bindgen(unchecked_param_type = "WorkerOptions | undefined")] options: JsValue,
) -> Result<WasmWorker, WasmError> {
    check_keys(&options, WORKER_KEYS, "worker")?;
    let concurrency = positive(&options, "concurrency", true)?.map_or(4, |n| n as usize);
    let handler_timeout_ms = positive(&options, "handlerTimeoutMs", false)?.unwrap_or(30_000.0);
    let (config, target) = telemetry(&options)?;
    if let Some(api) = get(&options, "openTelemetry") {
        crate::otel::configure(&api)?;
    }
    let exporter = match &target {
        Some(Target::Callback(f)) => Some(JsValue::from(f.clone())),
        _ => None,
    };
    if let Some(w) = CURRENT
        .with(|c| c.borrow().clone())
        .filter(|w| !w.inner.stopped.get())
    {
        let i = &w.inner;
        let mut differs = Vec::new();
        if i.concurrency != concurrency {
            differs.push(format!(
                "concurrency: running {}, asked {concurrency}",
                i.concurrency
            ));
        }
        if i.handler_timeout_ms != handler_timeout_ms {
            differs.push(format!(
                "handlerTimeoutMs: running {}, asked {handler_timeout_ms}",
                i.handler_timeout_ms
            ));
        }
        differs.extend(
            i.telemetry
                .export_differences(&config)
                .into_iter()
                .map(|f| format!("telemetry {f} differs")),
        );
        let same_exporter = match (&i.exporter, &exporter) {
            (Some(a), Some(b)) => js_sys::Object::is(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same_exporter {
            differs.push("telemetry exporter differs".to_owned());
        }
        if !differs.is_empty() {
            return Err(WasmError::new(
                "CONFIGURATION",
                format!(
                    "a worker is already running with a different configuration ({}); stop it first, or bootstrap with the same options",
                    differs.join("; ")
                ),
            ));
        }
        return Ok(w);
    }
    if let Some(target) = target {
        logging::init_with_processor(config.clone(), JsExporter::install(target, &config))?;
    }
    let worker = WasmWorker {
        inner: Rc::new(Inner {
            concurrency,
            handler_timeout_ms,
            telemetry: config,
            exporter,
            running: Cell::new(0),
            stopped: Cell::new(false),
        }),
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(worker.clone()));
    exporter::flush_at_exit();
    tracing::info!(concurrency, language = "wasm", "Worker started");
    Ok(worker)
}

fn template_from(v: &JsValue) -> Result<TaskTemplate, WasmError> {
    let input = match v.as_string() {
        Some(text) => TemplateInput::Text(text),
        None => TemplateInput::Value(conversions::to_json(v, "template")?),
    };
    Ok(tasker_shared::host::template(input)?)
}

#[wasm_bindgen(js_class = Worker)]
impl WasmWorker {
    /// Always throws: a worker comes from `bootstrapWorker()`. (wasm-bindgen exports the
    /// class, so without this `new Worker()` would make an empty object whose methods fail
    /// with "null pointer passed to rust".)
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<WasmWorker, WasmError> {
        Err(WasmError::new(
            "CONFIGURATION",
            "Worker cannot be constructed directly: use `await bootstrapWorker(options)`",
        ))
    }

    /// Runs a task (a template object, or its YAML/JSON text) to its end.
    #[wasm_bindgen(js_name = runTask, unchecked_return_type = "TaskResult")]
    pub async fn run_task(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TaskTemplate | string")] template: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown> | undefined")]
        context: JsValue,
    ) -> Result<JsValue, WasmError> {
        if self.inner.stopped.get() {
            return Err(tasker_shared::TaskerError::Stopped.into());
        }
        let template = template_from(&template)?;
        if let Some(step) = template
            .steps
            .iter()
            .find(|s| !bridge::is_registered(&s.handler))
        {
            return Err(tasker_shared::TaskerError::UnknownHandler(step.handler.clone()).into());
        }
        let context = if context.is_undefined() || context.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            conversions::to_json(&context, "context")?
        };
        tasker_shared::workflow::check_context(&context)?;
        self.inner.running.set(self.inner.running.get() + 1);
        let result = driver::drive(
            template,
            context,
            self.inner.concurrency,
            std::time::Duration::from_secs_f64(self.inner.handler_timeout_ms / 1000.0),
        )
        .await;
        self.inner.running.set(self.inner.running.get() - 1);
        exporter::relieve().await;
        conversions::to_js(&result?)
    }

    /// Exports every span ended so far and waits for the collector (or callback), up to 5 s.
    /// Resolves with the telemetry report; lost spans are in its `error` (and one WARN),
    /// and reject only with `{ strict: true }`.
    #[wasm_bindgen(unchecked_return_type = "TelemetryReport")]
    pub async fn flush(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "StopOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, WasmError> {
        let strict = report::strict(options.as_ref(), "flush")?;
        report::settle(exporter::flush().await, false, strict)
    }

    /// Waits for running tasks (up to 10 s), flushes telemetry (up to 5 s: a collector that
    /// never answers costs its spans, counted in the report, not a hung `stop`) and stops.
    /// Resolves with the telemetry report, as `flush`. Idempotent; later calls to `runTask`
    /// reject with code `WORKER_STOPPED`.
    #[wasm_bindgen(unchecked_return_type = "TelemetryReport")]
    pub async fn stop(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "StopOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, WasmError> {
        let strict = report::strict(options.as_ref(), "stop")?;
        if self.inner.stopped.replace(true) {
            return report::settle(Ok(()), true, strict);
        }
        let deadline = js_sys::Date::now() + 10_000.0;
        while self.inner.running.get() > 0 && js_sys::Date::now() < deadline {
            let _ = bridge::sleep(5.0).await;
        }
        let flushed = exporter::flush_within(exporter::STOP_FLUSH_MS).await;
        // The SDK's side has nothing left to lose: its exporter is the buffer just flushed.
        let _ = logging::shutdown_report();
        tracing::info!("Worker stopped");
        report::settle(flushed, true, strict)
    }

    /// Whether `stop` was called.
    #[wasm_bindgen(getter)]
    pub fn stopped(&self) -> bool {
        self.inner.stopped.get()
    }
}
