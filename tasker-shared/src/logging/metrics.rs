//! The OpenTelemetry meter provider behind `/metrics`, with an optional OTLP push.
//!
//! One cumulative [`ManualReader`] serves both: `/metrics` collects it on demand and renders
//! Prometheus text, and the push thread (started by phase 2 when `OTEL_METRICS_EXPORTER=otlp`)
//! collects the same reader on an interval. A reader has to be registered when the provider is
//! built, so a push added after the fact would need a second provider; sharing one manual
//! reader avoids that, and keeps `/metrics` working with telemetry off.

use std::sync::{Arc, OnceLock, Weak};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, MeterProvider as _, ObservableCounter};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};

use super::{TelemetryConfig, TelemetryError};

struct Metrics {
    provider: SdkMeterProvider,
    reader: Arc<ManualReader>,
    /// `tasker.telemetry.spans`, read from the export accounting at each collection.
    _spans: ObservableCounter<u64>,
    #[cfg(not(target_arch = "wasm32"))]
    push: Mutex<Option<push::Pusher>>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

fn metrics() -> &'static Metrics {
    METRICS.get_or_init(|| {
        let config = super::active_config().unwrap_or_else(TelemetryConfig::from_env);
        let reader = Arc::new(ManualReader::builder().build());
        let provider = SdkMeterProvider::builder()
            .with_reader(SharedReader(reader.clone()))
            .with_resource(super::resource(&config))
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        tracing::info!(target: "tasker_shared::logging", "Global meter provider is set");
        tracing::info!(
            target: "tasker_shared::logging",
            "OpenTelemetry Prometheus text exporter initialized"
        );
        Metrics {
            _spans: span_outcomes(&provider),
            provider,
            reader,
            #[cfg(not(target_arch = "wasm32"))]
            push: Mutex::new(None),
        }
    })
}

/// Every span's fate as a counter, so a dashboard can alert on lost spans: the same counts
/// `telemetry_stats()` returns, by `outcome` (`exported`, `failed`, `dropped` for a full
/// export queue, `dropped_before_bootstrap` for a full pre-bootstrap buffer).
fn span_outcomes(provider: &SdkMeterProvider) -> ObservableCounter<u64> {
    provider
        .meter("tasker-shared")
        .u64_observable_counter("tasker.telemetry.spans")
        .with_description("Spans ended by this process, by what became of them")
        .with_callback(|observer| {
            let s = super::telemetry_stats();
            for (outcome, n) in [
                ("exported", s.spans_exported),
                ("failed", s.spans_failed),
                ("dropped", s.spans_dropped),
                ("dropped_before_bootstrap", s.spans_dropped_before_bootstrap),
            ] {
                observer.observe(n, &[KeyValue::new("outcome", outcome)]);
            }
        })
        .build()
}

/// The process-wide meter provider (also installed as the OpenTelemetry global).
pub fn meter_provider() -> &'static SdkMeterProvider {
    &metrics().provider
}

/// A meter from the process-wide provider.
pub fn meter(name: &'static str) -> Meter {
    meter_provider().meter(name)
}

/// Everything recorded so far, as Prometheus text exposition format (for `/metrics`).
pub fn render_prometheus() -> Result<String, TelemetryError> {
    let m = metrics();
    let mut rm = ResourceMetrics::default();
    m.reader
        .collect(&mut rm)
        .map_err(|e| TelemetryError::Metrics(super::late_bound::describe(&e)))?;
    Ok(super::prometheus::render(&rm))
}

pub(super) fn on_phase_two(config: &TelemetryConfig) -> Result<(), TelemetryError> {
    let m = metrics();
    if !config.metrics_export {
        return Ok(());
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut slot = m.push.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(push::Pusher::start(config, m.reader.clone())?);
        }
        Ok(())
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = m;
        Err(TelemetryError::Unsupported(
            "OTLP metrics push is not available on wasm32",
        ))
    }
}

pub(super) fn flush() -> Result<(), TelemetryError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(m) = METRICS.get() {
        if let Some(p) = m
            .push
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return p.push_now();
        }
    }
    Ok(())
}

pub(super) fn shutdown() -> Result<(), TelemetryError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(m) = METRICS.get() {
        let pusher = m.push.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(p) = pusher {
            return p.stop(super::SHUTDOWN_TIMEOUT);
        }
    }
    Ok(())
}

pub(super) fn abandon_after_fork() {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(m) = METRICS.get() {
        if let Some(p) = m.push.lock().unwrap_or_else(PoisonError::into_inner).take() {
            std::mem::forget(p);
        }
    }
}

/// Lets the provider own a reader that `/metrics` and the pusher also hold.
#[derive(Debug)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod push {
    use std::sync::Arc;
    use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use opentelemetry_sdk::metrics::ManualReader;
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    use opentelemetry_sdk::metrics::reader::MetricReader;

    use super::super::{TelemetryConfig, TelemetryError};

    enum Cmd {
        Push(SyncSender<Result<(), TelemetryError>>),
        Stop(SyncSender<Result<(), TelemetryError>>),
    }

    /// A thread that pushes the shared reader's metrics over OTLP every interval.
    pub(super) struct Pusher {
        tx: SyncSender<Cmd>,
        thread: Option<JoinHandle<()>>,
    }

    impl Pusher {
        pub(super) fn start(
            config: &TelemetryConfig,
            reader: Arc<ManualReader>,
        ) -> Result<Self, TelemetryError> {
            let exporter = super::super::export::metric_exporter(config)?;
            // gRPC exporters run on the runtime that was current when they were built.
            let runtime = tokio::runtime::Handle::try_current().ok();
            let interval = config.metrics_interval;
            let (tx, rx) = mpsc::sync_channel::<Cmd>(4);
            let thread = std::thread::Builder::new()
                .name("tasker-metrics-push".into())
                .spawn(move || {
                    let _guard = runtime.as_ref().map(|h| h.enter());
                    let push = || -> Result<(), TelemetryError> {
                        let mut rm = ResourceMetrics::default();
                        reader
                            .collect(&mut rm)
                            .and_then(|()| futures_executor::block_on(exporter.export(&rm)))
                            .map_err(|e| {
                                TelemetryError::Metrics(super::super::late_bound::describe(&e))
                            })
                    };
                    loop {
                        match rx.recv_timeout(interval) {
                            Err(RecvTimeoutError::Timeout) => {
                                if let Err(e) = push() {
                                    tracing::debug!(target: "tasker_shared::logging", error = %e, "metrics push failed");
                                }
                            }
                            Ok(Cmd::Push(reply)) => {
                                let _ = reply.send(push());
                            }
                            Ok(Cmd::Stop(reply)) => {
                                let result = push();
                                let _ = exporter.shutdown();
                                let _ = reply.send(result);
                                return;
                            }
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                })
                .map_err(|e| TelemetryError::Metrics(format!("cannot start the push thread: {e}")))?;
            Ok(Self {
                tx,
                thread: Some(thread),
            })
        }

        fn call(
            &self,
            make: impl FnOnce(SyncSender<Result<(), TelemetryError>>) -> Cmd,
            timeout: Duration,
        ) -> Result<(), TelemetryError> {
            let (reply, rx) = mpsc::sync_channel(1);
            self.tx
                .send(make(reply))
                .map_err(|_| TelemetryError::Metrics("the push thread has stopped".into()))?;
            rx.recv_timeout(timeout).unwrap_or_else(|_| {
                Err(TelemetryError::Metrics(format!(
                    "metrics push timed out after {} ms",
                    timeout.as_millis()
                )))
            })
        }

        pub(super) fn push_now(&self) -> Result<(), TelemetryError> {
            self.call(Cmd::Push, super::super::SHUTDOWN_TIMEOUT)
        }

        pub(super) fn stop(mut self, timeout: Duration) -> Result<(), TelemetryError> {
            let result = self.call(Cmd::Stop, timeout);
            if result.is_ok() {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
            }
            result
        }
    }
}

#[cfg(test)]
pub(super) fn test_reader(reader: Arc<ManualReader>) -> impl MetricReader {
    SharedReader(reader)
}
