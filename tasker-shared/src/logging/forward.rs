//! Forwarding Rust log records to a host's own logging (Python's `logging`, opt-in).
//!
//! The layer never blocks and never needs the host's global lock: it offers each record to
//! a bounded channel and counts what did not fit. A host thread drains the channel in
//! batches, with its lock released while it waits, and emits the records itself, so logging
//! from Rust threads cannot deadlock against the GIL.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{PoisonError, RwLock};

use serde_json::{Map, Value};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::json::FieldMap;

/// One forwarded event.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: Level,
    pub target: String,
    pub message: String,
    pub fields: Map<String, Value>,
    /// The innermost span's name, if the event was inside one.
    pub span: Option<String>,
    pub timestamp: String,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SINK: RwLock<Option<(SyncSender<LogRecord>, Level)>> = RwLock::new(None);

/// Starts forwarding events at `level` or more severe into a channel holding `capacity`
/// records; returns its receiving end. Replaces any earlier forwarding. Logs that came from a
/// host in the first place (targets `tasker_python`, `tasker_ruby`, `tasker_js`) are never
/// forwarded back.
pub fn forward_logs(level: Level, capacity: usize) -> Receiver<LogRecord> {
    let (tx, rx) = sync_channel(capacity.max(1));
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = Some((tx, level));
    ENABLED.store(true, Ordering::Release);
    rx
}

/// Stops forwarding.
pub fn stop_forwarding() {
    ENABLED.store(false, Ordering::Release);
    SINK.write().unwrap_or_else(PoisonError::into_inner).take();
}

/// Records dropped because the host did not drain them fast enough.
pub fn forwarded_dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Targets never forwarded: logs that came from a host in the first place.
const HOST_TARGETS: &[&str] = &["tasker_python", "tasker_ruby", "tasker_js"];

pub(super) struct ForwardLayer;

impl<S> Layer<S> for ForwardLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !ENABLED.load(Ordering::Acquire) {
            return;
        }
        let meta = event.metadata();
        if HOST_TARGETS.contains(&meta.target()) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner);
        let Some((tx, level)) = sink.as_ref() else {
            return;
        };
        if meta.level() > level {
            return;
        }
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let mut fields = fields.0;
        let message = match fields.remove("message") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let record = LogRecord {
            level: *meta.level(),
            target: meta.target().to_owned(),
            message,
            fields,
            span: ctx.event_span(event).map(|s| s.name().to_owned()),
            timestamp: crate::time::rfc3339_now(),
        };
        if let Err(TrySendError::Full(_)) = tx.try_send(record) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}
