//! Export accounting. The SDK's processors swallow export errors (they can only log them),
//! so every exporter we attach is wrapped to count what reached the collector and what did
//! not. Flush and shutdown use the counts to say "N spans were lost" instead of a silent Ok.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

static EXPORTED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static LAST_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// What the span pipeline has done since the process started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryStats {
    /// Spans the collector accepted.
    pub spans_exported: u64,
    /// Spans whose export failed (collector down, wrong endpoint, timeout).
    pub spans_failed: u64,
    /// Spans dropped from the pre-bootstrap buffer because it was full.
    pub spans_dropped_before_bootstrap: u64,
    /// The most recent export error.
    pub last_error: Option<String>,
}

pub(super) fn snapshot(dropped_before_bootstrap: u64) -> TelemetryStats {
    TelemetryStats {
        spans_exported: EXPORTED.load(Ordering::Relaxed),
        spans_failed: FAILED.load(Ordering::Relaxed),
        spans_dropped_before_bootstrap: dropped_before_bootstrap,
        last_error: LAST_ERROR
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    }
}

/// `Err` naming how many spans failed to export since `before` (a count of failed spans).
pub(super) fn lost_since(before: u64) -> Result<(), String> {
    let now = FAILED.load(Ordering::Relaxed);
    if now <= before {
        return Ok(());
    }
    let reason = LAST_ERROR
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    Err(format!(
        "{} span(s) could not be exported: {reason}",
        now - before
    ))
}

pub(super) fn failed_so_far() -> u64 {
    FAILED.load(Ordering::Relaxed)
}

/// Wraps an exporter to count its outcomes.
#[derive(Debug)]
pub(crate) struct Observed<E>(pub(crate) E);

impl<E: SpanExporter> SpanExporter for Observed<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.0.export(batch).await;
        match &result {
            Ok(()) => {
                EXPORTED.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                FAILED.fetch_add(n, Ordering::Relaxed);
                *LAST_ERROR.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(super::late_bound::describe(e));
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
