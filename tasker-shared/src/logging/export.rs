//! Native OTLP exporters (HTTP/protobuf, HTTP/JSON and gRPC; TLS for each). Not compiled
//! for wasm32, whose workers hand spans to JavaScript instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT, OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_SCHEDULE_DELAY_DEFAULT, Span, SpanData, SpanProcessor,
};

use super::batch::{EncodingProcessor, Limits, Sink};
use super::stats::{Backlog, Observed};
use super::tls::Material;
use super::transport::Transport;
use super::{Compression, OtlpProtocol, TelemetryConfig, TelemetryError};
use crate::otlp::Encoding;

/// The phase-2 span pipeline. OTLP/HTTP (protobuf or JSON) goes through our own
/// [`EncodingProcessor`], which encodes each span where it ends; gRPC through
/// opentelemetry-otlp's tonic exporter behind the SDK's batch processor (its own thread;
/// tonic needs the bootstrap's runtime). Both keep the same queue bound and counts.
pub(super) fn span_processor(
    config: &TelemetryConfig,
) -> Result<Arc<dyn SpanProcessor>, TelemetryError> {
    let encoding = match config.protocol {
        OtlpProtocol::HttpProtobuf => Encoding::Protobuf,
        OtlpProtocol::HttpJson => Encoding::Json,
        OtlpProtocol::Grpc => return Ok(Arc::new(grpc_processor(config)?)),
    };
    let endpoint = config.signal_endpoint("traces");
    let fail = |reason: String| TelemetryError::Exporter {
        protocol: config.protocol.as_str(),
        endpoint: endpoint.clone(),
        reason,
    };
    let tls = Material::read(&config.tls).map_err(&fail)?;
    let sink = Sink {
        transport: Transport::new(&endpoint, &tls, config.export_timeout).map_err(&fail)?,
        headers: config.headers.clone(),
        gzip: config.compression == Compression::Gzip,
    };
    let mut processor =
        EncodingProcessor::start(encoding, batch_limits(config), sink).map_err(&fail)?;
    processor.set_resource(&super::resource(config));
    Ok(Arc::new(processor))
}

/// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY` and
/// `OTEL_BSP_MAX_CONCURRENT_EXPORTS`, as the SDK reads them (but 2 concurrent exports by
/// default, not 1), with the queue bound from the configuration.
fn batch_limits(config: &TelemetryConfig) -> Limits {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let batch = var(OTEL_BSP_MAX_EXPORT_BATCH_SIZE)
        .filter(|n| *n > 0)
        .map_or(OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT, |n| n as usize);
    Limits {
        queue: config.export_queue_size,
        batch: batch.min(config.export_queue_size),
        delay: var(OTEL_BSP_SCHEDULE_DELAY)
            .map_or(OTEL_BSP_SCHEDULE_DELAY_DEFAULT, Duration::from_millis),
        exports: var("OTEL_BSP_MAX_CONCURRENT_EXPORTS")
            .filter(|n| *n > 0)
            .map_or(2, |n| n.min(16) as usize),
    }
}

/// gRPC: the SDK's batch processor, which runs on its own thread.
fn grpc_processor(
    config: &TelemetryConfig,
) -> Result<Admitted<BatchSpanProcessor>, TelemetryError> {
    let backlog = Backlog::default();
    let exporter = Observed {
        exporter: span_exporter(config)?,
        backlog: Some(backlog.clone()),
        endpoint: Some(config.signal_endpoint("traces")),
    };
    // The exporter's own timeout (OTEL_EXPORTER_OTLP_TIMEOUT) bounds each export. The SDK's
    // queue has the same bound as the admission count, which also covers the batch being
    // exported, so the SDK never has to drop a span uncounted.
    let mut processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(config.export_queue_size)
                .build(),
        )
        .build();
    processor.set_resource(&super::resource(config));
    Ok(Admitted {
        inner: processor,
        backlog,
        capacity: config.export_queue_size as u64,
    })
}

/// Admits a span to `inner` only while fewer than `capacity` are waiting; counts the rest.
#[derive(Debug)]
pub(crate) struct Admitted<P> {
    pub(crate) inner: P,
    pub(crate) backlog: Backlog,
    pub(crate) capacity: u64,
}

impl<P: SpanProcessor> SpanProcessor for Admitted<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.backlog.admit(self.capacity) {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Builds an OTLP exporter of either signal: the span and metric builders share their
/// configuration traits but no common type, so a macro writes the one recipe for both.
macro_rules! otlp_exporter {
    ($exporter:ty, $config:expr, $signal:literal) => {{
        let config: &TelemetryConfig = $config;
        let endpoint = config.signal_endpoint($signal);
        let fail = |reason: String| TelemetryError::Exporter {
            protocol: config.protocol.as_str(),
            endpoint: endpoint.clone(),
            reason,
        };
        let tls = Material::read(&config.tls).map_err(&fail)?;
        let built = match config.protocol {
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let transport =
                    Transport::new(&endpoint, &tls, config.export_timeout).map_err(&fail)?;
                let mut b = <$exporter>::builder()
                    .with_http()
                    .with_protocol(if config.protocol == OtlpProtocol::HttpJson {
                        opentelemetry_otlp::Protocol::HttpJson
                    } else {
                        opentelemetry_otlp::Protocol::HttpBinary
                    })
                    .with_endpoint(endpoint.clone())
                    .with_timeout(config.export_timeout)
                    .with_http_client(transport)
                    .with_headers(config.headers.iter().cloned().collect::<HashMap<_, _>>());
                if config.compression == Compression::Gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build()
            }
            OtlpProtocol::Grpc => {
                require_multi_thread_runtime()?;
                let mut b = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(endpoint.clone())
                    .with_timeout(config.export_timeout)
                    .with_metadata(metadata(config).map_err(&fail)?);
                if endpoint.starts_with("https://") {
                    b = b.with_tls_config(tls.tonic_config());
                }
                if config.compression == Compression::Gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build()
            }
        };
        built.map_err(|e| fail(e.to_string()))
    }};
}

fn span_exporter(
    config: &TelemetryConfig,
) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    otlp_exporter!(opentelemetry_otlp::SpanExporter, config, "traces")
}

/// The OTLP metric exporter for the optional metrics push.
pub(super) fn metric_exporter(
    config: &TelemetryConfig,
) -> Result<opentelemetry_otlp::MetricExporter, TelemetryError> {
    otlp_exporter!(opentelemetry_otlp::MetricExporter, config, "metrics")
}

/// tonic binds its channel to the runtime that is current when it is built; on a
/// current-thread runtime nothing drives it between our calls and spans are lost, and with
/// no runtime it panics. Refuse both up front.
pub(super) fn require_multi_thread_runtime() -> Result<tokio::runtime::Handle, TelemetryError> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => Ok(h),
        _ => Err(TelemetryError::GrpcNeedsRuntime),
    }
}

fn metadata(config: &TelemetryConfig) -> Result<tonic::metadata::MetadataMap, String> {
    let mut map = tonic::metadata::MetadataMap::new();
    for (k, v) in &config.headers {
        let key = tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("header name {k:?} is not valid gRPC metadata"))?;
        let value = v
            .parse()
            .map_err(|_| format!("header {k:?} has a value that is not valid gRPC metadata"))?;
        map.insert(key, value);
    }
    Ok(map)
}
