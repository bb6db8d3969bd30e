//! The worker's instruments, rendered at `/metrics` and optionally pushed over OTLP.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use tasker_shared::logging::metrics::meter;

#[derive(Debug, Clone)]
pub(crate) struct WorkerMetrics {
    dispatched: Counter<u64>,
    completed: Counter<u64>,
    duration: Histogram<f64>,
    in_flight: UpDownCounter<i64>,
}

impl WorkerMetrics {
    pub(crate) fn new() -> Self {
        let m = meter("tasker-worker");
        Self {
            dispatched: m
                .u64_counter("tasker.steps.dispatched")
                .with_description("Steps handed to a handler")
                .build(),
            completed: m
                .u64_counter("tasker.steps.completed")
                .with_description("Step attempts finished, by status")
                .build(),
            duration: m
                .f64_histogram("tasker.step.duration_ms")
                .with_description("Handler time per step attempt, in milliseconds")
                .with_boundaries(vec![
                    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
                    5000.0, 10000.0, 30000.0,
                ])
                .build(),
            in_flight: m
                .i64_up_down_counter("tasker.steps.in_flight")
                .with_description("Steps dispatched and not yet completed")
                .build(),
        }
    }

    pub(crate) fn dispatched(&self, namespace: &str, language: &str) {
        let attrs = [
            KeyValue::new("namespace", namespace.to_owned()),
            KeyValue::new("language", language.to_owned()),
        ];
        self.dispatched.add(1, &attrs);
        self.in_flight.add(1, &attrs);
    }

    pub(crate) fn completed(&self, namespace: &str, language: &str, status: &'static str, ms: f64) {
        let base = [
            KeyValue::new("namespace", namespace.to_owned()),
            KeyValue::new("language", language.to_owned()),
        ];
        self.in_flight.add(-1, &base);
        let with_status = [
            base[0].clone(),
            base[1].clone(),
            KeyValue::new("status", status),
        ];
        self.completed.add(1, &with_status);
        self.duration.record(ms, &with_status);
    }
}
