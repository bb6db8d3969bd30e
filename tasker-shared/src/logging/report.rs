//! What a flush or a shutdown of telemetry did, as a value rather than an error.
//!
//! Telemetry is an enhancement, never a requirement: a worker's shutdown path (an `at_exit`,
//! a signal handler, a process manager's stop) must not fail because a collector was down.
//! So a flush reports: the counts, and the reason when spans were lost since the last
//! report, logged once as a WARN. A caller who wants the loss to be an error asks for it
//! with [`TelemetryReport::into_result`].

use super::{TelemetryError, TelemetryStats};

/// The outcome of [`flush_report`](super::flush_report) or
/// [`shutdown_report`](super::shutdown_report).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryReport {
    /// The counts since the process started.
    pub stats: TelemetryStats,
    /// Why spans (or metrics) were lost since the last report; `None` when nothing was.
    pub error: Option<TelemetryError>,
}

impl TelemetryReport {
    pub(super) fn new(outcome: Result<(), TelemetryError>, stats: TelemetryStats) -> Self {
        Self {
            stats,
            error: outcome.err(),
        }
    }

    /// Whether everything since the last report reached the collector.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }

    /// The counts, or the loss as an error: the strict form of a flush.
    pub fn into_result(self) -> Result<TelemetryStats, TelemetryError> {
        match self.error {
            None => Ok(self.stats),
            Some(e) => Err(e),
        }
    }

    /// Logs the one WARN a loss gets: the reason and the counts. `what` is the operation
    /// ("flush", "shutdown"). Public for drivers that export on their own (the wasm worker).
    pub fn warn_if_lost(self, what: &'static str) -> Self {
        if let Some(e) = &self.error {
            tracing::warn!(
                target: "tasker_shared::logging",
                operation = what,
                spans_exported = self.stats.spans_exported,
                spans_failed = self.stats.spans_failed,
                spans_dropped = self.stats.spans_dropped,
                reason = %e,
                "Telemetry was not fully exported; nothing else failed"
            );
        }
        self
    }
}
