//! Spans out of wasm: OTLP over HTTP, POSTed ([`crate::post`]: `node:http` in Node, `fetch`
//! in a browser) in protobuf (`http/protobuf`, the default) or JSON (`http/json`), or handed
//! to a JS callback as an OTLP/JSON object. Both encodings are the core's
//! (`tasker_shared::otlp`), written in one pass from the spans.
//!
//! The exporter is the span processor (`logging::init_with_processor`), and nothing may block
//! a JS event loop, so `on_end` only keeps each span in the open batch. The open batch's spans are encoded
//! together when it fills (512) or a send takes it, and dropped there, so a backed-up buffer
//! holds bytes, not span trees, and a step pays for no encoding. Batches leave
//! asynchronously, like a batch processor's: when 512 spans wait, one second after the first span of a batch (an unref'd
//! timer, which never keeps Node alive), and at `worker.stop()`/`flush()`, which await every
//! send still in flight and report a failed one. A settled send is dropped at once, so
//! responses and request bodies never pile up.
//!
//! A collector that accepts connections and never answers must cost spans, never steps:
//! every send gives up after the export timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by
//! default), `stop`/`flush` wait at most 5 s, and a task never waits for the collector.
//!
//! Node exits without `stop()`: at `beforeExit` what is buffered is sent (the pending request
//! keeps the process alive until it settles), and at `exit`, which allows only synchronous
//! code, the unsent batches are POSTed by a short-lived child process that the exit waits
//! for (at most 5 s). A callback exporter cannot be called synchronously; its unsent spans
//! are counted on stderr instead.

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::{Function, Promise, Reflect};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use tasker_shared::otlp::{Encoding, SpanBuffer};

use crate::conversions;

/// Where batches go.
pub(crate) enum Target {
    Post(Post),
    Callback(Function),
}

/// An OTLP/HTTP endpoint and how to send to it (`OTEL_EXPORTER_OTLP_*`, or the options).
#[derive(Clone)]
pub(crate) struct Post {
    /// The full traces URL (`/v1/traces` appended to a base endpoint, or the traces endpoint
    /// as given).
    pub(crate) url: String,
    /// `http/json` instead of protobuf.
    pub(crate) json: bool,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (an API key, say), sent with every request.
    pub(crate) headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`.
    pub(crate) gzip: bool,
}

/// One encoded request: protobuf bytes, or OTLP/JSON text.
#[derive(Clone)]
pub(crate) enum Body {
    Protobuf(Vec<u8>),
    Json(String),
}

#[derive(Default)]
struct State {
    target: Option<Target>,
    resource: Option<Resource>,
    /// The newest spans, as they ended (at most [`BATCH`]): encoded together when they
    /// fill a batch or a send takes them, outside the steps that made them.
    open: Vec<SpanData>,
    /// Older spans not yet sent, encoded (oldest batch first, at most [`BATCH`] × 4 spans
    /// each), so a backed-up exporter holds bytes, not span trees.
    batches: VecDeque<SpanBuffer>,
    /// Spans in `open` and `batches`.
    buffered: usize,
    in_flight: usize,
    /// Bodies of the sends in flight, by send number: what an `exit` must still deliver.
    sending: std::collections::BTreeMap<u64, (Body, usize)>,
    next_send: u64,
    /// Reasons of failed sends, each with its span count.
    failures: Vec<(String, usize)>,
    dropped: u64,
    timer: Option<JsValue>,
    /// When [`let_sends_move`] last yielded to the event loop (`Date.now()`, ms).
    last_yield: f64,
    timeout_ms: f64,
    /// Bumped by each `install`: a send of an earlier pipeline that settles late counts for
    /// nothing (its `stop` already reported it as waiting).
    generation: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
    /// Spans exported, failed and dropped since the module loaded, across pipelines.
    static TOTALS: std::cell::Cell<Totals> = const { std::cell::Cell::new(Totals { exported: 0, failed: 0, dropped: 0 }) };
}

/// What the exporter did with its spans since the module loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) exported: u64,
    pub(crate) failed: u64,
    pub(crate) dropped: u64,
}

pub(crate) fn totals() -> Totals {
    TOTALS.with(std::cell::Cell::get)
}

fn count(f: impl FnOnce(&mut Totals)) {
    TOTALS.with(|t| {
        let mut v = t.get();
        f(&mut v);
        t.set(v);
    });
}

impl State {
    /// Protobuf for a `fetch` target unless `http/json` was asked for; OTLP/JSON for a
    /// callback, which receives it as an object.
    fn encoding(&self) -> Encoding {
        match self.target {
            Some(Target::Post(Post { json: false, .. })) => Encoding::Protobuf,
            _ => Encoding::Json,
        }
    }

    /// Holds `span` in the open batch, or counts it dropped when the buffer is full.
    fn hold(&mut self, span: SpanData) {
        if self.buffered >= MAX_BUFFERED {
            self.dropped += 1;
            count(|t| t.dropped += 1);
            return;
        }
        self.open.push(span);
        self.buffered += 1;
        if self.open.len() >= BATCH {
            self.seal();
        }
    }

    /// Encodes the open batch's spans into the newest encoded batch, and drops them. One
    /// pass over 512 spans, where encoding each as it ended cost every step its spans'
    /// encoding (about a third of telemetry's cost per step in Node's profile).
    fn seal(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let encoding = self.encoding();
        let mut scratch = Vec::with_capacity(1024);
        for span in self.open.drain(..) {
            if self.batches.back().is_none_or(|b| b.len() >= BATCH * 4) {
                self.batches.push_back(SpanBuffer::new(encoding));
            }
            if let Some(batch) = self.batches.back_mut() {
                encoding.encode_span(&span, &mut scratch);
                batch.append(&span.instrumentation_scope, &scratch);
            }
        }
    }

    /// Takes the oldest batch and frames it.
    fn take_body(&mut self) -> Option<(Body, usize)> {
        if self.batches.is_empty() {
            self.seal();
        }
        let batch = self.batches.pop_front()?;
        self.buffered -= batch.len();
        let resource = self
            .resource
            .clone()
            .unwrap_or_else(|| Resource::builder_empty().build());
        let body = match batch.frame_text(&resource) {
            Some(text) => Body::Json(text),
            None => Body::Protobuf(batch.frame(&resource)),
        };
        Some((body, batch.len()))
    }
}

/// Flush early once this many spans wait.
const BATCH: usize = 512;
/// Sends in flight at once; more spans wait in the buffer (backpressure, as a batch
/// processor's queue gives), so a fast producer never piles up requests.
pub(crate) const MAX_IN_FLIGHT: usize = 4;
/// Spans kept while sends are backed up; beyond it new spans are dropped and counted.
const MAX_BUFFERED: usize = 16_384;

/// The exporter handed to the SDK. Its state lives in a thread-local: wasm32 has one thread,
/// and JS values are not `Send`.
#[derive(Debug, Default)]
pub(crate) struct JsExporter;

/// How long `stop()` (and `flush()`) wait for the collector.
pub(crate) const STOP_FLUSH_MS: f64 = 5_000.0;

impl JsExporter {
    pub(crate) fn install(
        target: Target,
        config: &tasker_shared::logging::TelemetryConfig,
    ) -> Self {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            let generation = s.generation + 1;
            *s = State {
                target: Some(target),
                resource: std::mem::take(&mut s.resource),
                timeout_ms: config.export_timeout.as_secs_f64() * 1000.0,
                generation,
                next_send: s.next_send,
                ..State::default()
            };
        });
        Self
    }
}

/// The exporter is the span processor too: an ended span goes straight into the open batch,
/// with no one-span batch around it and no executor (see `init_with_processor`).
impl SpanProcessor for JsExporter {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        let full = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.hold(span);
            s.buffered >= BATCH
        });
        if full {
            send_buffered();
        } else {
            schedule();
        }
    }

    /// Nothing to do here: JS cannot block, so `flush()` and `stop()` send and await the
    /// buffer themselves ([`flush`]).
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        STATE.with(|s| s.borrow_mut().resource = Some(resource.clone()));
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

/// One send in flight.
struct Sending {
    id: u64,
    generation: u64,
    spans: usize,
    timeout_ms: f64,
}

/// Starts sending what is buffered; [`flush`] waits for it.
pub(crate) fn send_buffered() {
    cancel_timer();
    let started = STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.buffered == 0 || s.target.is_none() || s.in_flight >= MAX_IN_FLIGHT {
            return None;
        }
        let (body, take) = s.take_body()?;
        let timeout_ms = s.timeout_ms;
        let promise = match (s.target.as_ref(), &body) {
            (Some(Target::Post(to)), body) => crate::post::post(to, body, timeout_ms),
            (Some(Target::Callback(f)), Body::Json(text)) => js_sys::JSON::parse(text)
                .and_then(|batch| f.call1(&JsValue::NULL, &batch))
                .map(|r| Promise::resolve(&r)),
            _ => return None,
        };
        s.in_flight += 1;
        let id = s.next_send;
        s.next_send += 1;
        s.sending.insert(id, (body, take));
        let send = Sending {
            id,
            generation: s.generation,
            spans: take,
            timeout_ms,
        };
        Some((send, promise.unwrap_or_else(|e| Promise::reject(&e))))
    });
    if let Some((
        Sending {
            id,
            generation,
            spans,
            timeout_ms,
        },
        p,
    )) = started
    {
        wasm_bindgen_futures::spawn_local(async move {
            // fetch is aborted by its signal; a callback's promise is raced here, so one that
            // never settles frees its slot all the same.
            let settled = match futures::future::select(
                JsFuture::from(p),
                crate::bridge::sleep(timeout_ms + 100.0),
            )
            .await
            {
                futures::future::Either::Left((r, _)) => r,
                futures::future::Either::Right(_) => Err(JsValue::from_str(&format!(
                    "timed out after {timeout_ms} ms"
                ))),
            };
            let outcome = match settled {
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
                if s.generation != generation {
                    return 0;
                }
                s.in_flight -= 1;
                s.sending.remove(&id);
                let n = spans as u64;
                count(|t| match outcome {
                    None => t.exported += n,
                    Some(_) => t.failed += n,
                });
                s.failures.extend(outcome.map(|reason| (reason, spans)));
                s.buffered
            });
            // A full batch goes at once; a few spans wait for their timer, so a fast
            // collector does not turn every task into a request of its own.
            if more >= BATCH {
                send_buffered();
            } else if more > 0 {
                schedule();
            }
        });
    }
}

/// Called after each step. A stream of tasks that never waits on I/O runs on promise jobs
/// alone, and the event loop never reaches the sockets: requests in flight are not even
/// written, their responses never read, and spans pile up until they are dropped. So while
/// a send is in flight, one step in a millisecond yields a single turn of the event loop
/// (`setImmediate` in Node, a zero timer elsewhere): a few µs, against a send that would
/// otherwise wait for the whole stream to end. A collector that never answers costs at most
/// that turn a millisecond.
pub(crate) async fn let_sends_move() {
    let due = STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.in_flight == 0 {
            return false;
        }
        let now = js_sys::Date::now();
        let due = now - s.last_yield >= 1.0;
        if due {
            s.last_yield = now;
        }
        due
    });
    if due {
        let _ = next_turn().await;
        if STATE.with(|s| s.borrow().buffered >= BATCH) {
            send_buffered();
        }
    }
}

/// Called between tasks: [`let_sends_move`], and when the buffer is half full anyway, a few
/// more turns (a few milliseconds at most, so a collector that never answers costs spans,
/// dropped and counted, never much task time).
pub(crate) async fn relieve() {
    let_sends_move().await;
    for _ in 0..4 {
        let backed_up = STATE.with(|s| s.borrow().buffered >= MAX_BUFFERED / 2);
        if !backed_up {
            return;
        }
        send_buffered();
        let _ = crate::bridge::sleep(1.0).await;
    }
}

/// Resolves on the event loop's next turn, after pending I/O callbacks have run.
fn next_turn() -> JsFuture {
    let promise = Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let immediate = Reflect::get(&global, &"setImmediate".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let scheduled = match immediate {
            Some(set_immediate) => set_immediate.call1(&global, &resolve),
            None => Reflect::get(&global, &"setTimeout".into())
                .and_then(|f| f.dyn_into::<Function>())
                .and_then(|t| t.call2(&global, &resolve, &JsValue::from_f64(0.0))),
        };
        if scheduled.is_err() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    JsFuture::from(promise)
}

/// [`flush_within`] the stop bound.
pub(crate) async fn flush() -> Result<(), String> {
    flush_within(STOP_FLUSH_MS).await
}

/// Sends what is buffered and waits up to `bound_ms` for every send in flight. Errors name
/// what failed since the last flush, and what was still waiting when the bound passed.
pub(crate) async fn flush_within(bound_ms: f64) -> Result<(), String> {
    let deadline = js_sys::Date::now() + bound_ms;
    let mut timed_out = false;
    loop {
        send_buffered();
        let busy = STATE.with(|s| {
            let s = s.borrow();
            s.in_flight > 0 || s.buffered > 0
        });
        if !busy {
            break;
        }
        if js_sys::Date::now() >= deadline {
            timed_out = true;
            break;
        }
        let _ = crate::bridge::sleep(2.0).await;
    }
    let (mut failures, dropped, waiting) = STATE.with(|s| {
        let mut s = s.borrow_mut();
        let waiting = s.buffered + s.sending.values().map(|(_, n)| n).sum::<usize>();
        (
            std::mem::take(&mut s.failures),
            std::mem::take(&mut s.dropped),
            waiting,
        )
    });
    let mut parts = Vec::new();
    if timed_out {
        parts.push(format!(
            "timed out after {bound_ms} ms; {waiting} span(s) are still waiting for the collector"
        ));
    }
    if !failures.is_empty() {
        let spans: usize = failures.iter().map(|(_, n)| n).sum();
        let mut reasons: Vec<&str> = Vec::new();
        for (r, _) in &failures {
            if !reasons.contains(&r.as_str()) {
                reasons.push(r);
            }
        }
        parts.push(format!(
            "{spans} span(s) in {} batch(es) could not be exported: {}",
            failures.len(),
            reasons.join("; ")
        ));
    }
    if dropped > 0 {
        parts.push(format!(
            "{dropped} span(s) dropped while the collector was backed up"
        ));
    }
    failures.clear();
    if parts.is_empty() {
        Ok(())
    } else {
        Err(parts.join("; "))
    }
}

/// Registers the `beforeExit` and `exit` flushes on Node's `process`, once.
pub(crate) fn flush_at_exit() {
    thread_local! {
        static HOOKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if HOOKED.with(|h| h.replace(true)) {
        return;
    }
    let Some(process) = Reflect::get(&js_sys::global(), &"process".into())
        .ok()
        .filter(|p| p.is_object())
    else {
        return;
    };
    let Ok(on) = Reflect::get(&process, &"on".into()).and_then(|f| f.dyn_into::<Function>()) else {
        return;
    };
    let before_exit = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(send_buffered);
    let at_exit = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(flush_synchronously);
    let _ = on.call2(&process, &"beforeExit".into(), before_exit.as_ref());
    let _ = on.call2(&process, &"exit".into(), at_exit.as_ref());
    before_exit.forget();
    at_exit.forget();
}

/// At `exit`: everything not yet confirmed by the collector, as request bodies.
fn unsent_bodies() -> (Vec<Body>, usize) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let mut bodies: Vec<Body> = s.sending.values().map(|(b, _)| b.clone()).collect();
        let mut count: usize = s.sending.values().map(|(_, n)| n).sum();
        while let Some((body, n)) = s.take_body() {
            count += n;
            bodies.push(body);
        }
        s.sending.clear();
        (bodies, count)
    })
}

fn flush_synchronously() {
    let to = STATE.with(|s| match s.borrow().target.as_ref() {
        Some(Target::Post(to)) => Some(to.clone()),
        _ => None,
    });
    let (bodies, count) = unsent_bodies();
    if count == 0 {
        return;
    }
    let sent = match to {
        Some(to) => crate::node::post_synchronously(&to, &bodies, STOP_FLUSH_MS),
        None => Err("an exporter callback cannot be called during exit".to_owned()),
    };
    if let Err(reason) = sent {
        crate::ffi_logging::write_stderr(&format!(
            "tasker-core: {count} span(s) were not exported at exit ({reason}); await worker.stop() before the process ends"
        ));
    }
}
