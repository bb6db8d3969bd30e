//! Two-phase telemetry for FFI hosts (the TAS-65 pattern, with its future enhancements built).
//!
//! **Why two phases.** A Ruby, Python or JS host loads our extension long before any Tokio
//! runtime exists, yet it needs logs from that first instant. So:
//!
//! * **Phase 1**, [`init_console_only`], runs at extension load. It installs the one global
//!   subscriber: a console layer, plus the OpenTelemetry layer over a provider whose span
//!   processor and sampler are *late-bound* (empty slots). No runtime, no threads, no I/O.
//! * **Phase 2**, [`init_tracing`] / [`init_with_config`], runs inside bootstrap. It fills the
//!   slots with a real OTLP pipeline. The subscriber is never replaced, so there is no restart,
//!   no `reload` layer (which breaks parent propagation), and spans opened before phase 2 keep
//!   working; with `TELEMETRY_ENABLED=true` their data waits in a bounded buffer and is
//!   exported once phase 2 attaches.
//!
//! [`shutdown_telemetry`] empties the slots again after a bounded flush; console logging goes
//! on, and a later phase 2 (a new worker, a forked child) can attach a fresh pipeline.

#[cfg(not(target_arch = "wasm32"))]
mod batch;
mod compact;
mod config;
mod env;
#[cfg(not(target_arch = "wasm32"))]
mod export;
pub mod forward;
pub mod host;
mod json;
mod late_bound;
pub mod metrics;
pub(crate) mod otel_layer;
mod prometheus;
mod report;
mod stats;
mod subscriber;
#[cfg(not(target_arch = "wasm32"))]
mod tls;
#[cfg(not(target_arch = "wasm32"))]
mod transport;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter, SpanProcessor};

pub use config::{Compression, LogFormat, OtlpProtocol, SamplerConfig, TelemetryConfig, TlsFiles};
use late_bound::{LateBound, LateBoundSampler};
pub use report::TelemetryReport;
pub use stats::TelemetryStats;
pub use subscriber::{ConsoleSink, set_console_sink};

/// How long [`shutdown_telemetry`] waits for the exporter to drain.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Telemetry set-up and teardown failures. None of them stops console logging.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TelemetryError {
    #[error(
        "OTLP over gRPC needs a multi-thread Tokio runtime: call init_with_config inside the worker runtime (runtime.block_on) or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
    )]
    GrpcNeedsRuntime,
    #[error("cannot build the OTLP {protocol} exporter for {endpoint}: {reason}")]
    Exporter {
        protocol: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error(
        "another global tracing subscriber was installed before tasker-core's; console logging and trace ids come from that subscriber"
    )]
    ForeignSubscriber,
    #[error("flushing telemetry failed: {0}")]
    Flush(String),
    #[error("shutting telemetry down failed: {0}")]
    Shutdown(String),
    #[error("metrics failed: {0}")]
    Metrics(String),
    #[error("{0}")]
    Unsupported(&'static str),
}

/// What the telemetry pipeline is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetryState {
    /// Phase 1 has not run.
    Uninitialized,
    /// Console only; spans get ids but are not exported.
    ConsoleOnly,
    /// Console, with export deferred: ended spans are buffered for phase 2.
    Deferred,
    /// Phase 2 attached an exporter.
    Exporting,
}

pub(crate) struct Telemetry {
    late: Arc<LateBound>,
    sampler: LateBoundSampler,
    provider: SdkTracerProvider,
    own_subscriber: bool,
    phase2: Mutex<Option<TelemetryConfig>>,
    /// The attached pipeline was re-attached in a forked child with the parent's
    /// configuration: the child's own phase 2 replaces it instead of keeping it.
    inherited: std::sync::atomic::AtomicBool,
}

static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();

fn telemetry() -> &'static Telemetry {
    TELEMETRY.get_or_init(|| subscriber::phase_one(TelemetryConfig::from_env()))
}

/// Phase 1: console logging, safe from any thread with no async runtime. Idempotent.
///
/// Logs `Console-only logging initialized (FFI-safe mode)`; when `TELEMETRY_ENABLED=true`
/// it also says that export is deferred to the runtime context.
pub fn init_console_only() {
    telemetry();
}

/// Phase 1 for an FFI binding loading into `language` (ruby, python, wasm): console logging,
/// and the spec's `FFI console logging initialized (no telemetry)` line when export is off.
/// `config` is the host's own reading of its environment, where `std::env` is not it.
pub fn init_ffi_console(language: &'static str, config: Option<TelemetryConfig>) {
    match config {
        Some(c) => init_console_only_with(c),
        None => init_console_only(),
    }
    if telemetry_state() == TelemetryState::ConsoleOnly {
        crate::log_ffi!(
            info,
            "FFI console logging initialized (no telemetry)",
            component: "ffi_boundary",
            language: language
        );
    }
}

/// Phase 1 with a configuration the host read itself (a JS host's `globalThis` and
/// `process.env`, where `std::env` is empty). Idempotent: only the first phase 1 counts.
pub fn init_console_only_with(config: TelemetryConfig) {
    TELEMETRY.get_or_init(|| subscriber::phase_one(config));
}

/// Phase 2 from the environment: [`init_with_config`] with [`TelemetryConfig::from_env`].
pub fn init_tracing() -> Result<(), TelemetryError> {
    init_with_config(TelemetryConfig::from_env())
}

/// Phase 2: attaches OTLP export to the already-installed subscriber, without a restart.
///
/// Runs phase 1 first if it has not run. With `config.enabled == false`, or when a pipeline is
/// already attached, it changes nothing and returns `Ok`. It never panics: HTTP/protobuf
/// needs no runtime; gRPC returns [`TelemetryError::GrpcNeedsRuntime`] unless a multi-thread
/// Tokio runtime is current.
pub fn init_with_config(config: TelemetryConfig) -> Result<(), TelemetryError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let t = telemetry();
        if !config.enabled {
            return disable(t);
        }
        if t.late.is_active() {
            let running = active_config().unwrap_or_default();
            let differs = running.export_differences(&config);
            if t.inherited.load(std::sync::atomic::Ordering::Acquire) && !differs.is_empty() {
                // A forked child's own bootstrap: its service name, endpoint, ... win over
                // the parent's, which it only inherited.
                if let Some(old) = t.late.detach() {
                    std::mem::forget(old);
                }
            } else {
                if differs.is_empty() {
                    tracing::debug!(
                        target: "tasker_shared::logging",
                        "OpenTelemetry already initialized; keeping the running pipeline"
                    );
                } else {
                    tracing::warn!(
                        target: "tasker_shared::logging",
                        differs = %differs.join(", "),
                        "OpenTelemetry is already exporting with a different configuration; keeping the running pipeline (call shutdown_telemetry first to change it)"
                    );
                }
                return Ok(());
            }
        }
        let processor = export::span_processor(&config)?;
        attach(t, processor, config)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let t = telemetry();
        if !config.enabled {
            return disable(t);
        }
        Err(TelemetryError::Unsupported(
            "OTLP export on wasm32 needs an exporter: use init_with_exporter",
        ))
    }
}

/// Phase 2 with an exporter the caller built (a JS callback exporter on wasm, a test's).
/// Spans go through a simple (synchronous, thread-free) processor, which is what wasm32 can
/// run. Replaces a pipeline that is already attached.
pub fn init_with_exporter<E>(config: TelemetryConfig, exporter: E) -> Result<(), TelemetryError>
where
    E: SpanExporter + 'static,
{
    let t = telemetry();
    let mut processor =
        opentelemetry_sdk::trace::SimpleSpanProcessor::new(stats::Observed::new(exporter));
    processor.set_resource(&resource(&config));
    if let Some(old) = t.late.detach() {
        let _ = old.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
    }
    attach(t, Arc::new(processor), config)
}

/// Phase 2 with a span processor the caller built, handed each ended span as it ends.
///
/// For an exporter that only keeps the span for a later batch (wasm's): the simple processor
/// of [`init_with_exporter`] wraps each span in a one-span batch and runs an executor around
/// an export that is already done, which was a tenth of what telemetry cost a step in Node.
/// Spans that are not sampled never reach `processor`. Replaces a pipeline that is already
/// attached.
pub fn init_with_processor<P>(
    config: TelemetryConfig,
    mut processor: P,
) -> Result<(), TelemetryError>
where
    P: SpanProcessor + 'static,
{
    let t = telemetry();
    processor.set_resource(&resource(&config));
    if let Some(old) = t.late.detach() {
        let _ = old.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
    }
    attach(t, Arc::new(SampledOnly(processor)), config)
}

/// Passes on sampled spans only, as the SDK's processors do (a span recorded but not
/// sampled is not exported).
#[derive(Debug)]
struct SampledOnly<P>(P);

impl<P: SpanProcessor> SpanProcessor for SampledOnly<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        if span.span_context.is_sampled() {
            self.0.on_end(span);
        }
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

fn disable(t: &Telemetry) -> Result<(), TelemetryError> {
    if !t.late.is_active() {
        t.late.detach();
        t.sampler.set(None);
        tracing::debug!(
            target: "tasker_shared::logging",
            "Telemetry disabled; console logging only"
        );
    }
    Ok(())
}

fn attach(
    t: &Telemetry,
    processor: Arc<dyn SpanProcessor>,
    config: TelemetryConfig,
) -> Result<(), TelemetryError> {
    t.sampler.set(Some(config.sampler.to_sampler()));
    t.inherited
        .store(false, std::sync::atomic::Ordering::Release);
    let (_, replayed) = t.late.attach(processor);
    tracing::info!(
        target: "tasker_shared::logging",
        environment = %config.environment,
        opentelemetry_enabled = true,
        otlp_endpoint = %config.endpoint(),
        otlp_protocol = config.protocol.as_str(),
        service_name = %config.service_name,
        replayed_spans = replayed,
        dropped_spans = t.late.dropped_before_bootstrap(),
        "Console logging with OpenTelemetry initialized"
    );
    *t.phase2.lock().unwrap_or_else(PoisonError::into_inner) = Some(config.clone());
    metrics::on_phase_two(&config)
}

/// Exports everything ended so far. Bounded: the SDK waits at most 5 s for the exporter.
/// Never fails: spans that could not be exported, or were dropped for a full export queue,
/// since the last flush or shutdown are named in the report's `error` and logged once as a
/// WARN.
pub fn flush_report() -> TelemetryReport {
    let Some(t) = TELEMETRY.get() else {
        return TelemetryReport::default();
    };
    let spans = match t.late.active() {
        Some(p) => stats::report(p.force_flush().map_err(|e| late_bound::describe(&e)), false)
            .map_err(TelemetryError::Flush),
        None => Ok(()),
    };
    let metrics = metrics::flush();
    TelemetryReport::new(spans.and(metrics), telemetry_stats()).warn_if_lost("flush")
}

/// [`flush_report`], with a loss as the error: for callers that treat it as one (tests, a
/// strict stop).
pub fn flush_telemetry() -> Result<TelemetryStats, TelemetryError> {
    flush_report().into_result()
}

/// Flushes and stops export within [`SHUTDOWN_TIMEOUT`]. Console logging keeps working; a
/// later phase 2 may attach again. Idempotent. Never fails, as [`flush_report`].
pub fn shutdown_report() -> TelemetryReport {
    let Some(t) = TELEMETRY.get() else {
        return TelemetryReport::default();
    };
    t.sampler.set(None);
    let had = t
        .phase2
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let spans = match t.late.detach() {
        Some(p) => stats::report(
            p.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
                .map_err(|e| late_bound::describe(&e)),
            true,
        )
        .map_err(TelemetryError::Shutdown),
        None => Ok(()),
    };
    let metrics = metrics::shutdown();
    let report =
        TelemetryReport::new(spans.and(metrics), telemetry_stats()).warn_if_lost("shutdown");
    if had.is_some() {
        tracing::info!(
            target: "tasker_shared::logging",
            flushed = report.is_complete(),
            "OpenTelemetry export shut down; console logging continues"
        );
    }
    report
}

/// [`shutdown_report`], with a loss as the error.
pub fn shutdown_telemetry() -> Result<TelemetryStats, TelemetryError> {
    shutdown_report().into_result()
}

/// Call in a forked child. The parent's exporter thread does not exist there, so its pipeline
/// is abandoned (flushing it would block, then lose the spans) and, if the parent was
/// exporting, a fresh pipeline with the same configuration is attached, under the child's
/// pid. That pipeline is only inherited: the child's own phase 2 with another configuration
/// (its bootstrap's service name) replaces it. Ids drawn in the child never repeat the
/// parent's ([`crate::ids`]).
pub fn reinitialize_after_fork() -> Result<(), TelemetryError> {
    let Some(t) = TELEMETRY.get() else {
        return Ok(());
    };
    if let Some(old) = t.late.detach() {
        // Dropping it would try to join a thread that is not in this process.
        std::mem::forget(old);
    }
    metrics::abandon_after_fork();
    let config = t
        .phase2
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match config {
        Some(config) => {
            init_with_config(config)?;
            t.inherited
                .store(true, std::sync::atomic::Ordering::Release);
            Ok(())
        }
        None => Ok(()),
    }
}

impl TelemetryState {
    /// `uninitialized`, `console_only`, `deferred` or `exporting`, as hosts report it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uninitialized => "uninitialized",
            Self::ConsoleOnly => "console_only",
            Self::Deferred => "deferred",
            Self::Exporting => "exporting",
        }
    }
}

/// The current state of the pipeline.
pub fn telemetry_state() -> TelemetryState {
    match TELEMETRY.get() {
        None => TelemetryState::Uninitialized,
        Some(t) => match t.late.state_name() {
            "active" => TelemetryState::Exporting,
            "buffering" => TelemetryState::Deferred,
            _ => TelemetryState::ConsoleOnly,
        },
    }
}

/// Counts of exported and failed spans, and the last export error.
pub fn telemetry_stats() -> TelemetryStats {
    stats::snapshot(
        TELEMETRY
            .get()
            .map(|t| t.late.dropped_before_bootstrap())
            .unwrap_or(0),
    )
}

/// The configuration phase 2 is exporting with, if it is.
pub fn active_config() -> Option<TelemetryConfig> {
    TELEMETRY
        .get()?
        .phase2
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The tracer provider behind the OpenTelemetry layer (also the OTel global one). Spans made
/// with it directly join the same pipeline as `tracing` spans.
pub fn tracer_provider() -> SdkTracerProvider {
    telemetry().provider.clone()
}

/// Whether our subscriber is the global one (false when the host installed its own first).
pub fn owns_global_subscriber() -> bool {
    telemetry().own_subscriber
}

pub(crate) fn resource(config: &TelemetryConfig) -> opentelemetry_sdk::Resource {
    use opentelemetry::KeyValue;
    let mut attrs = vec![
        KeyValue::new("service.version", config.service_version.clone()),
        KeyValue::new("deployment.environment", config.environment.clone()),
        KeyValue::new("deployment.environment.name", config.environment.clone()),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
    ];
    // std::process::id() panics on wasm32-unknown-unknown, which has no processes.
    #[cfg(not(target_arch = "wasm32"))]
    attrs.push(KeyValue::new("process.pid", i64::from(std::process::id())));
    attrs.extend(
        config
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(attrs)
        .with_service_name(config.service_name.clone())
        .build()
}

/// Logs an event from the FFI boundary with a level, a message, structured fields and a
/// component, e.g. `log_ffi!(info, "Worker ready", component: "ffi_boundary", workers: 4)`.
/// Field values are `tracing` values: strings, numbers, booleans, or
/// `tracing::field::display(x)` / `debug(x)` for anything else. Without `component:`, the
/// component is `"ffi"`.
#[macro_export]
macro_rules! log_ffi {
    ($level:ident, $msg:expr, component: $component:expr $(, $key:ident : $value:expr)* $(,)?) => {
        $crate::__private::tracing::$level!(
            target: "tasker_ffi",
            component = $component
            $(, $key = $value)*,
            "{}", $msg
        )
    };
    ($level:ident, $msg:expr $(, $key:ident : $value:expr)* $(,)?) => {
        $crate::log_ffi!($level, $msg, component: "ffi" $(, $key: $value)*)
    };
}
