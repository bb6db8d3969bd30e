//! Export accounting. The SDK's processors swallow export errors (they can only log them),
//! so every exporter we attach is wrapped to count what reached the collector and what did
//! not. Flush and shutdown use the counts to say "N spans were lost" instead of a silent Ok.
//!
//! The SDK's batch processor also drops spans when its queue is full (a collector slower than
//! the worker) and only counts them privately. `export::Admitted` keeps the queue bound itself,
//! counting spans from the moment they are queued until their export finishes, so that every
//! dropped span is counted here and the SDK's queue never overflows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

static EXPORTED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Spans admitted to an export queue whose export has not finished, across pipelines.
static WAITING: AtomicU64 = AtomicU64::new(0);
static LAST_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// What the span pipeline has done since the process started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryStats {
    /// Spans the collector accepted.
    pub spans_exported: u64,
    /// Spans whose export failed (collector down, wrong endpoint, timeout).
    pub spans_failed: u64,
    /// Spans dropped because `export_queue_size` spans were already waiting for a collector
    /// that could not keep up.
    pub spans_dropped: u64,
    /// Spans dropped from the pre-bootstrap buffer because it was full.
    pub spans_dropped_before_bootstrap: u64,
    /// The most recent export error.
    pub last_error: Option<String>,
}

pub(super) fn snapshot(dropped_before_bootstrap: u64) -> TelemetryStats {
    TelemetryStats {
        spans_exported: EXPORTED.load(Ordering::Relaxed),
        spans_failed: FAILED.load(Ordering::Relaxed),
        spans_dropped: DROPPED.load(Ordering::Relaxed),
        spans_dropped_before_bootstrap: dropped_before_bootstrap,
        last_error: LAST_ERROR
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    }
}

/// The failure and drop counts a flush or shutdown has already reported.
static REPORTED: Mutex<(u64, u64)> = Mutex::new((0, 0));

/// A flush or shutdown's outcome with every loss since the last report named: when the
/// exporter timed out (a collector that accepts connections and never answers), the spans
/// already dropped and those still waiting for it are counted too, not just the timeout.
pub(super) fn report(outcome: Result<(), String>, shutting_down: bool) -> Result<(), String> {
    match (outcome, unreported_losses()) {
        (Ok(()), losses) => losses,
        // The failed exports' own cause is the clearer message; the flush's error only
        // repeats it, unless the flush itself ran out of time.
        (Err(e), Err(l)) if !e.contains("timed out") => Err(l),
        (Err(e), losses) => {
            let mut parts = vec![e];
            if let Err(l) = losses {
                parts.push(l);
            }
            let waiting = WAITING.load(Ordering::Relaxed);
            if waiting > 0 {
                parts.push(if shutting_down {
                    format!("{waiting} span(s) still waiting for the collector were lost")
                } else {
                    format!("{waiting} span(s) are still waiting for the collector")
                });
            }
            Err(parts.join("; "))
        }
    }
}

/// `Err` naming how many spans failed to export, and how many were dropped, since the last
/// call (the last flush or shutdown).
pub(super) fn unreported_losses() -> Result<(), String> {
    let failed = FAILED.load(Ordering::Relaxed);
    let dropped = DROPPED.load(Ordering::Relaxed);
    let (before_failed, before_dropped) = std::mem::replace(
        &mut *REPORTED.lock().unwrap_or_else(PoisonError::into_inner),
        (failed, dropped),
    );
    let mut parts = Vec::new();
    if failed > before_failed {
        let reason = LAST_ERROR
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        parts.push(format!(
            "{} span(s) could not be exported: {reason}",
            failed - before_failed
        ));
    }
    if dropped > before_dropped {
        parts.push(format!(
            "{} span(s) were dropped because the export queue was full (the collector did not keep up; see OTEL_BSP_MAX_QUEUE_SIZE)",
            dropped - before_dropped
        ));
    }
    if parts.is_empty() {
        Ok(())
    } else {
        Err(parts.join("; "))
    }
}

/// A span the export queue had no room for.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn count_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// `n` more spans admitted to an export queue, or (negative) `n` whose export finished.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn count_waiting(n: u64, admitted: bool) {
    if admitted {
        WAITING.fetch_add(n, Ordering::Relaxed);
    } else {
        WAITING.fetch_sub(n, Ordering::Relaxed);
    }
}

/// The outcome of exporting `n` spans.
pub(crate) fn count_export(n: u64, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => {
            EXPORTED.fetch_add(n, Ordering::Relaxed);
        }
        Err(reason) => {
            FAILED.fetch_add(n, Ordering::Relaxed);
            *LAST_ERROR.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        }
    }
}

/// Spans queued in one pipeline whose export has not finished.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backlog(Arc<AtomicU64>);

impl Backlog {
    /// Takes a place for one span if fewer than `capacity` are waiting; otherwise counts the
    /// span as dropped.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn admit(&self, capacity: u64) -> bool {
        if self.0.fetch_add(1, Ordering::AcqRel) >= capacity {
            self.0.fetch_sub(1, Ordering::AcqRel);
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        WAITING.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn release(&self, n: u64) {
        self.0.fetch_sub(n, Ordering::AcqRel);
        WAITING.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Wraps an exporter to count its outcomes, and to release the spans it has finished with
/// from its pipeline's [`Backlog`].
#[derive(Debug)]
pub(crate) struct Observed<E> {
    pub(crate) exporter: E,
    pub(crate) backlog: Option<Backlog>,
    /// The endpoint an export error is said with (the SDK's errors do not name it).
    pub(crate) endpoint: Option<String>,
}

impl<E> Observed<E> {
    pub(crate) fn new(exporter: E) -> Self {
        Self {
            exporter,
            backlog: None,
            endpoint: None,
        }
    }
}

impl<E: SpanExporter> SpanExporter for Observed<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.exporter.export(batch).await;
        if let Some(backlog) = &self.backlog {
            backlog.release(n);
        }
        count_export(
            n,
            result.as_ref().map(|_| ()).map_err(|e| {
                let plain = super::late_bound::describe(e);
                match &self.endpoint {
                    Some(endpoint) => format!("exporting to {endpoint} failed: {plain}"),
                    None => plain,
                }
            }),
        );
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}
