//! Phase 1: builds and installs the one global subscriber.
//!
//! Layers: a console layer (pretty, compact or JSON; stderr or a host sink) with its own
//! filter, and the OpenTelemetry layer with a separate filter, so `RUST_LOG=warn` quiets the
//! console without removing the `worker.step_execution` spans whose ids cross the FFI
//! boundary. The exporter's own crates are filtered out of the OTel layer, so exporting can
//! never produce more spans to export.

use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use super::late_bound::{EventsWhileRecording, LateBound, LateBoundProcessor, LateBoundSampler};
use super::{LogFormat, Telemetry, TelemetryConfig};

/// Crates that do the exporting (or are too chatty at INFO).
const NOISY: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry-otlp",
];

/// Where console lines go when the host has no usable stderr (a browser, a JS console).
pub type ConsoleSink = fn(&str);
static SINK: OnceLock<ConsoleSink> = OnceLock::new();

/// Sends console output to `sink` instead of stderr. Must be called before phase 1.
pub fn set_console_sink(sink: ConsoleSink) -> bool {
    SINK.set(sink).is_ok()
}

pub(super) fn phase_one(config: TelemetryConfig) -> Telemetry {
    let late = LateBound::new(config.enabled);
    let sampler = LateBoundSampler::default();
    if config.enabled {
        sampler.set(Some(config.sampler.to_sampler()));
    }
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LateBoundProcessor(late.clone()))
        .with_sampler(sampler.clone())
        .with_id_generator(crate::ids::ForkSafeIdGenerator)
        .with_resource(super::resource(&config))
        .build();

    let (console_filter, filter_warning) = console_filter(&config.log_filter);
    let otel = super::otel_layer::OtelLayer::new(late.clone(), sampler.clone())
        .with_filter(otel_filter().and(EventsWhileRecording(late.clone())));
    let own_subscriber = Registry::default()
        .with(console_layer(config.log_format).with_filter(console_filter))
        .with(otel)
        .with(super::forward::ForwardLayer)
        .try_init()
        .is_ok();

    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    if !own_subscriber {
        tracing::warn!(target: "tasker_shared::logging", "{}", super::TelemetryError::ForeignSubscriber);
    }
    tracing::info!(
        target: "tasker_shared::logging",
        environment = %config.environment,
        opentelemetry_enabled = config.enabled,
        context = "ffi_initialization",
        "Console-only logging initialized (FFI-safe mode)"
    );
    if config.enabled {
        tracing::info!(
            target: "tasker_shared::logging",
            otlp_endpoint = %config.endpoint(),
            buffered_spans_max = super::late_bound::PRE_BOOTSTRAP_BUFFER,
            "TAS-65: Telemetry enabled - deferring OpenTelemetry export to runtime context"
        );
    }
    for warning in config.warnings.iter().chain(filter_warning.iter()) {
        tracing::warn!(target: "tasker_shared::logging", "{warning}");
    }

    Telemetry {
        late,
        sampler,
        provider,
        own_subscriber,
        phase2: Mutex::new(None),
        inherited: false.into(),
    }
}

fn with_quiet_defaults(directives: &str, quiet: &str) -> String {
    let mut out = directives.trim().to_owned();
    for krate in NOISY {
        if !directives.contains(krate) {
            out.push_str(&format!(",{krate}={quiet}"));
        }
    }
    out
}

fn console_filter(directives: &str) -> (EnvFilter, Option<String>) {
    match EnvFilter::try_new(with_quiet_defaults(directives, "warn")) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(with_quiet_defaults("info", "warn")),
            Some(format!(
                "log filter {directives:?} (RUST_LOG / LOG_LEVEL) is invalid ({e}); using info"
            )),
        ),
    }
}

fn otel_filter() -> EnvFilter {
    EnvFilter::new(with_quiet_defaults("info", "off"))
}

fn console_layer(format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    let ansi = SINK.get().is_none()
        && io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let base = tracing_subscriber::fmt::layer()
        .with_writer(ConsoleWriter)
        .with_timer(Rfc3339)
        .with_ansi(ansi);
    match format {
        LogFormat::Pretty => Box::new(base.pretty()),
        LogFormat::Compact => Box::new(
            base.fmt_fields(super::compact::SeparatedFields)
                .event_format(super::compact::CompactOnce { ansi }),
        ),
        LogFormat::Json => Box::new(
            base.fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(super::json::JsonWithTrace),
        ),
    }
}

/// Timestamps from `crate::time`, which also works on wasm32 (where the default timer's
/// `SystemTime::now()` panics).
#[derive(Debug, Clone, Copy)]
struct Rfc3339;

impl tracing_subscriber::fmt::time::FormatTime for Rfc3339 {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        w.write_str(&crate::time::rfc3339_now())
    }
}

/// Writes each event to stderr, or whole lines to the host sink.
#[derive(Debug, Clone, Copy)]
struct ConsoleWriter;

impl<'a> MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleLine;
    fn make_writer(&'a self) -> ConsoleLine {
        ConsoleLine(Vec::new())
    }
}

/// One formatted event, written out in one call when dropped so that lines from concurrent
/// host threads never interleave.
pub(super) struct ConsoleLine(Vec<u8>);

impl Write for ConsoleLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        match SINK.get() {
            Some(sink) => sink(String::from_utf8_lossy(&self.0).trim_end()),
            // Stderr's write_all holds its lock for the whole line.
            None => {
                let _ = io::stderr().write_all(&self.0);
            }
        }
    }
}
