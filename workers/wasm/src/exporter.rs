//! Spans out of wasm: OTLP/JSON, POSTed with `fetch` or handed to a JS callback.
//!
//! The SDK's simple processor blocks on each export, and nothing may block a JS event loop,
//! so `export` only appends to a buffer. Batches leave asynchronously, like a batch
//! processor's: when 512 spans wait, one second after the first span of a batch (an unref'd
//! timer, which never keeps Node alive), and at `worker.stop()`/`flush()`, which await every
//! send still in flight and report a failed one. A settled send is dropped at once, so
//! responses and request bodies never pile up.

use std::cell::RefCell;
use std::time::{Duration, UNIX_EPOCH};

use js_sys::{Function, Object, Promise, Reflect};
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::conversions;

/// Where batches go.
pub(crate) enum Target {
    Fetch { url: String },
    Callback(Function),
}

#[derive(Default)]
struct State {
    target: Option<Target>,
    resource: Vec<KeyValue>,
    buffer: Vec<SpanData>,
    in_flight: usize,
    failures: Vec<String>,
    dropped: u64,
    timer: Option<JsValue>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Flush early once this many spans wait.
const BATCH: usize = 512;
/// Sends in flight at once; more spans wait in the buffer (backpressure, as a batch
/// processor's queue gives), so a fast producer never piles up requests.
const MAX_IN_FLIGHT: usize = 4;
/// Spans kept while sends are backed up; beyond it the oldest are dropped and counted.
const MAX_BUFFERED: usize = 16_384;

/// The exporter handed to the SDK. Its state lives in a thread-local: wasm32 has one thread,
/// and JS values are not `Send`.
#[derive(Debug, Default)]
pub(crate) struct JsExporter;

impl JsExporter {
    pub(crate) fn install(target: Target) -> Self {
        STATE.with(|s| s.borrow_mut().target = Some(target));
        Self
    }
}

impl SpanExporter for JsExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let full = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.buffer.extend(batch);
            if s.buffer.len() > MAX_BUFFERED {
                let excess = s.buffer.len() - MAX_BUFFERED;
                s.buffer.drain(..excess);
                s.dropped += excess as u64;
            }
            s.buffer.len() >= BATCH
        });
        if full {
            send_buffered();
        } else {
            schedule();
        }
        std::future::ready(Ok(()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        let attrs = resource
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        STATE.with(|s| s.borrow_mut().resource = attrs);
    }
}

/// Sends the buffer one second from now, unless a send is already scheduled.
fn schedule() {
    let pending = STATE.with(|s| s.borrow().timer.is_some());
    if pending {
        return;
    }
    let global = js_sys::global();
    let Ok(set_timeout) =
        Reflect::get(&global, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let callback = wasm_bindgen::closure::Closure::once_into_js(|| {
        STATE.with(|s| s.borrow_mut().timer = None);
        send_buffered();
    });
    if let Ok(handle) = set_timeout.call2(&global, &callback, &JsValue::from_f64(1000.0)) {
        // In Node, a timer keeps the process alive unless unref'd.
        if let Ok(unref) =
            Reflect::get(&handle, &"unref".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = unref.call0(&handle);
        }
        STATE.with(|s| s.borrow_mut().timer = Some(handle));
    }
}

fn cancel_timer() {
    if let Some(handle) = STATE.with(|s| s.borrow_mut().timer.take()) {
        let global = js_sys::global();
        if let Ok(clear) =
            Reflect::get(&global, &"clearTimeout".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = clear.call1(&global, &handle);
        }
    }
}

/// Starts sending what is buffered; [`flush`] waits for it.
pub(crate) fn send_buffered() {
    cancel_timer();
    let started = STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.buffer.is_empty() || s.target.is_none() || s.in_flight >= MAX_IN_FLIGHT {
            return None;
        }
        let take = s.buffer.len().min(BATCH * 4);
        let spans: Vec<SpanData> = s.buffer.drain(..take).collect();
        let body = encode(&s.resource, &spans);
        let promise = match s.target.as_ref() {
            Some(Target::Fetch { url }) => post(url, &body.to_string()),
            Some(Target::Callback(f)) => conversions::to_js(&body)
                .map_err(JsValue::from)
                .and_then(|batch| f.call1(&JsValue::NULL, &batch))
                .map(|r| Promise::resolve(&r)),
            None => return None,
        };
        s.in_flight += 1;
        Some(promise.unwrap_or_else(|e| Promise::reject(&e)))
    });
    if let Some(p) = started {
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = match JsFuture::from(p).await {
                // A fetch Response: refuse non-2xx. A callback's value is not checked.
                Ok(resp) => match Reflect::get(&resp, &"ok".into())
                    .ok()
                    .and_then(|v| v.as_bool())
                {
                    Some(false) => {
                        let status = Reflect::get(&resp, &"status".into())
                            .ok()
                            .and_then(|v| v.as_f64())
                            .unwrap_or(0.0);
                        Some(format!("the collector answered HTTP {status}"))
                    }
                    _ => None,
                },
                Err(e) => Some(conversions::describe(&e)),
            };
            let more = STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.in_flight -= 1;
                s.failures.extend(outcome);
                !s.buffer.is_empty()
            });
            if more {
                send_buffered();
            }
        });
    }
}

/// Called between tasks: when sends are backed up, gives the event loop turns to finish
/// them (a CPU-bound stream of tasks otherwise never lets fetch responses in), so spans are
/// delayed rather than dropped. Returns at once when nothing is backed up.
pub(crate) async fn relieve() {
    // Bounded (about 2 s), so a collector that never answers slows tasks but cannot stall them.
    for _ in 0..2000 {
        let backed_up = STATE.with(|s| s.borrow().buffer.len() >= MAX_BUFFERED / 2);
        if !backed_up {
            return;
        }
        send_buffered();
        let _ = crate::bridge::sleep(1.0).await;
    }
}

/// Sends what is buffered and waits for every send in flight. Errors name what failed
/// since the last flush.
pub(crate) async fn flush() -> Result<(), String> {
    loop {
        send_buffered();
        let busy = STATE.with(|s| {
            let s = s.borrow();
            s.in_flight > 0 || !s.buffer.is_empty()
        });
        if !busy {
            break;
        }
        let _ = crate::bridge::sleep(2.0).await;
    }
    let (mut failures, dropped) = STATE.with(|s| {
        let mut s = s.borrow_mut();
        (
            std::mem::take(&mut s.failures),
            std::mem::take(&mut s.dropped),
        )
    });
    if dropped > 0 {
        failures.push(format!(
            "{dropped} span(s) dropped while the collector was backed up"
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} span batch(es) could not be exported: {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}

fn post(url: &str, body: &str) -> Result<Promise, JsValue> {
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())?
        .dyn_into()
        .map_err(|_| {
            JsValue::from_str("fetch is not available: pass telemetry.exporter instead")
        })?;
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into())?;
    let headers = Object::new();
    Reflect::set(&headers, &"content-type".into(), &"application/json".into())?;
    Reflect::set(&init, &"headers".into(), &headers)?;
    Reflect::set(&init, &"body".into(), &body.into())?;
    fetch
        .call2(&global, &url.into(), &init)?
        .dyn_into::<Promise>()
}

fn nanos(t: std::time::SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
        .to_string()
}

fn any_value(v: &OtelValue) -> Value {
    match v {
        OtelValue::Bool(b) => json!({"boolValue": b}),
        OtelValue::I64(i) => json!({"intValue": i.to_string()}),
        OtelValue::F64(f) => json!({"doubleValue": f}),
        OtelValue::String(s) => json!({"stringValue": s.as_str()}),
        other => json!({"stringValue": other.to_string()}),
    }
}

fn attributes<'a>(kvs: impl IntoIterator<Item = &'a KeyValue>) -> Value {
    Value::Array(
        kvs.into_iter()
            .map(|kv| json!({"key": kv.key.as_str(), "value": any_value(&kv.value)}))
            .collect(),
    )
}

/// An OTLP/JSON `ExportTraceServiceRequest` (ids as hex, as the JSON mapping requires).
pub(crate) fn encode(resource: &[KeyValue], spans: &[SpanData]) -> Value {
    let encoded: Vec<Value> = spans
        .iter()
        .map(|s| {
            let parent = if s.parent_span_id == opentelemetry::trace::SpanId::INVALID {
                String::new()
            } else {
                s.parent_span_id.to_string()
            };
            json!({
                "traceId": s.span_context.trace_id().to_string(),
                "spanId": s.span_context.span_id().to_string(),
                "parentSpanId": parent,
                "name": s.name.as_ref(),
                "kind": 1,
                "startTimeUnixNano": nanos(s.start_time),
                "endTimeUnixNano": nanos(s.end_time),
                "attributes": attributes(&s.attributes),
                "events": s.events.iter().map(|e| json!({
                    "timeUnixNano": nanos(e.timestamp),
                    "name": e.name.as_ref(),
                    "attributes": attributes(&e.attributes),
                })).collect::<Vec<_>>(),
                "links": s.links.iter().map(|l| json!({
                    "traceId": l.span_context.trace_id().to_string(),
                    "spanId": l.span_context.span_id().to_string(),
                    "attributes": attributes(&l.attributes),
                })).collect::<Vec<_>>(),
                "status": {},
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": attributes(resource)},
        "scopeSpans": [{"scope": {"name": "tasker-core"}, "spans": encoded}],
    }]})
}
