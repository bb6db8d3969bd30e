//! The OTLP/HTTP span pipeline: each span is encoded on the thread that ends it, and one
//! export thread only frames and POSTs the bytes.
//!
//! Why not the SDK's batch processor: profiled on the 100k-step bench (`perf record`), its
//! export thread spent about two thirds of its time freeing the spans the worker threads
//! had allocated (glibc's arena lock, contended, and the futex wake-ups around it) and most
//! of the rest converting them into opentelemetry-proto's structs; it fell behind the worker
//! and the queue dropped spans. Here the span is written to protobuf (or JSON) where it
//! ends, and dropped there, in the allocator's fast path; the queue holds bytes, and the
//! export thread never touches a `SpanData`.
//!
//! The queue keeps the batch processor's contract: at most `OTEL_BSP_MAX_QUEUE_SIZE` spans
//! wait, beyond it a span is dropped and counted; a batch leaves at
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans or `OTEL_BSP_SCHEDULE_DELAY` after its first one;
//! a batch being sent no longer waits in the queue (as in the SDK), and is counted as
//! waiting for the collector until its export ends. Up to `OTEL_BSP_MAX_CONCURRENT_EXPORTS`
//! batches (2 by default) are sent at once, each by its own thread, so that one slow answer
//! from the collector does not leave the queue to fill behind it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::stats;
use super::transport::Transport;
use crate::otlp::{Encoding, SpanBuffer};

/// When batches leave, and how many spans may wait.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    pub(super) queue: usize,
    pub(super) batch: usize,
    pub(super) delay: Duration,
    pub(super) exports: usize,
}

/// Where batches go.
#[derive(Debug)]
pub(super) struct Sink {
    pub(super) transport: Transport,
    pub(super) headers: Vec<(String, String)>,
    pub(super) gzip: bool,
}

#[derive(Debug)]
pub(super) struct EncodingProcessor {
    shared: Arc<Shared>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the export thread: a full batch, a flush, a shutdown.
    work: Condvar,
    /// Wakes flushers: the queue was empty and nothing was being sent.
    idle: Condvar,
    encoding: Encoding,
    limits: Limits,
}

#[derive(Debug)]
struct Batch {
    spans: SpanBuffer,
    started: Option<Instant>,
}

impl Batch {
    fn new(encoding: Encoding) -> Self {
        Self {
            spans: SpanBuffer::new(encoding),
            started: None,
        }
    }
}

#[derive(Debug)]
struct State {
    open: Batch,
    full: VecDeque<Batch>,
    /// Spans in `open` and `full`: what the queue bound counts.
    queued: usize,
    resource: Resource,
    /// Batches being sent.
    in_flight: usize,
    flush_asked: u64,
    flush_done: u64,
    shut_down: bool,
}

thread_local! {
    /// The ending thread's scratch buffer for one encoded span.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl EncodingProcessor {
    pub(super) fn start(encoding: Encoding, limits: Limits, sink: Sink) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                open: Batch::new(encoding),
                full: VecDeque::new(),
                queued: 0,
                resource: Resource::builder_empty().build(),
                in_flight: 0,
                flush_asked: 0,
                flush_done: 0,
                shut_down: false,
            }),
            work: Condvar::new(),
            idle: Condvar::new(),
            encoding,
            limits,
        });
        let sink = Arc::new(sink);
        let threads = (0..shared.limits.exports.max(1))
            .map(|_| {
                let (worker, sink) = (shared.clone(), sink.clone());
                std::thread::Builder::new()
                    .name("tasker-otlp-export".into())
                    .spawn(move || worker.run(&sink))
                    .map_err(|e| format!("cannot start an export thread: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Waits until every span queued before the call has been sent (or failed), or `bound`.
    fn flush_within(&self, bound: Duration, shut_down: bool) -> OTelSdkResult {
        let deadline = Instant::now() + bound;
        let mut s = self.shared.lock();
        if shut_down {
            s.shut_down = true;
        }
        s.flush_asked += 1;
        let target = s.flush_asked;
        self.shared.work.notify_all();
        while s.flush_done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(bound));
            }
            s = self
                .shared
                .idle
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An export thread: takes a batch when one is full, due, or asked for, and sends it.
    fn run(&self, sink: &Sink) {
        let mut s = self.lock();
        loop {
            let now = Instant::now();
            let flushing = s.flush_done < s.flush_asked;
            let due = s.open.started.is_some_and(|t| now >= t + self.limits.delay);
            let batch = match s.full.pop_front() {
                Some(b) => Some(b),
                None if !s.open.spans.is_empty() && (due || flushing || s.shut_down) => {
                    Some(std::mem::replace(&mut s.open, Batch::new(self.encoding)))
                }
                None => None,
            };
            let Some(batch) = batch else {
                // Done only when no other thread is still sending.
                if flushing && s.in_flight == 0 {
                    s.flush_done = s.flush_asked;
                    self.idle.notify_all();
                }
                if s.shut_down {
                    return;
                }
                let wait = s.open.started.map_or(Duration::from_secs(3600), |t| {
                    (t + self.limits.delay).saturating_duration_since(now)
                });
                s = self
                    .work
                    .wait_timeout(s, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            };
            s.queued -= batch.spans.len();
            s.in_flight += 1;
            let resource = s.resource.clone();
            drop(s);
            self.send(sink, &resource, &batch);
            stats::count_waiting(batch.spans.len() as u64, false);
            s = self.lock();
            s.in_flight -= 1;
        }
    }

    /// Frames and POSTs one batch, and counts its outcome.
    fn send(&self, sink: &Sink, resource: &Resource, batch: &Batch) {
        let outcome = sink.transport.post(
            batch.spans.frame(resource),
            self.encoding.content_type(),
            sink.gzip,
            &sink.headers,
        );
        stats::count_export(batch.spans.len() as u64, outcome);
    }
}

impl SpanProcessor for EncodingProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            self.shared.encoding.encode_span(&span, &mut scratch);
            let mut s = self.shared.lock();
            if s.shut_down {
                return;
            }
            if s.queued >= self.shared.limits.queue {
                drop(s);
                stats::count_dropped();
                return;
            }
            s.queued += 1;
            stats::count_waiting(1, true);
            let open = &mut s.open;
            open.spans.append(&span.instrumentation_scope, &scratch);
            open.started.get_or_insert_with(Instant::now);
            let n = open.spans.len();
            if n >= self.shared.limits.batch {
                let batch = std::mem::replace(open, Batch::new(self.shared.encoding));
                s.full.push_back(batch);
                self.shared.work.notify_one();
            } else if n == 1 {
                // The export thread sleeps until this batch is due.
                self.shared.work.notify_one();
            }
        });
        // `span` is dropped here, on the thread that made it.
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_within(super::SHUTDOWN_TIMEOUT, false)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.flush_within(timeout, true)?;
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            let _ = thread.join();
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.shared.lock().resource = resource.clone();
    }
}

impl Drop for EncodingProcessor {
    fn drop(&mut self) {
        // A pipeline replaced without a shutdown: its threads send what is queued, then end.
        let mut s = self.shared.lock();
        s.shut_down = true;
        self.shared.work.notify_all();
    }
}
