//! Telemetry configuration, read once from the environment and overridable per worker.
//!
//! Reading the environment never fails: a bad value falls back to its default and leaves a
//! warning that phase 1 logs once console logging is up. A worker must start even when its
//! observability settings are wrong; the warning tells the operator what was ignored.

use std::time::Duration;

use opentelemetry_sdk::trace::Sampler;

use super::env::{parse_bool, parse_key_values, parse_millis};

/// Wire protocol of the OTLP exporter (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf`: needs no async runtime, so it is the default for FFI hosts.
    #[default]
    HttpProtobuf,
    /// `grpc`: needs a multi-thread Tokio runtime to be current when telemetry starts.
    Grpc,
    /// `http/json`: OTLP's JSON encoding over HTTP, for receivers that accept only it.
    HttpJson,
}

impl OtlpProtocol {
    /// Parses the OTel spelling (`http/protobuf`, `grpc`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" | "http" | "http_protobuf" => Some(Self::HttpProtobuf),
            "grpc" => Some(Self::Grpc),
            "http/json" | "http_json" | "json" => Some(Self::HttpJson),
            _ => None,
        }
    }

    /// The OTel spelling of the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::Grpc => "grpc",
            Self::HttpJson => "http/json",
        }
    }

    fn default_endpoint(self) -> &'static str {
        match self {
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318",
            Self::Grpc => "http://localhost:4317",
        }
    }
}

/// Request body compression (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `none`, the OTel default.
    #[default]
    None,
    /// `gzip`: about a tenth of the bytes for our spans, for a little CPU on the export
    /// thread; worth it over a WAN link to a hosted backend.
    Gzip,
}

impl Compression {
    /// Parses `none` or `gzip`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Some(Self::None),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }

    /// The OTel spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
        }
    }
}

/// Files for TLS to the collector. An `https://` endpoint is verified against the system's
/// roots plus `certificate`; a client certificate is presented when both client files are
/// given (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: PEM file of a CA (or the server's certificate) to
    /// trust in addition to the system's roots.
    pub certificate: Option<String>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: PEM file of the client's certificate chain.
    pub client_certificate: Option<String>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: PEM file of the client's private key.
    pub client_key: Option<String>,
}

/// Console log layout (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Multi-line, human-oriented.
    Pretty,
    /// One line per event (the default).
    #[default]
    Compact,
    /// One JSON object per line, with span fields, trace_id and span_id.
    Json,
}

impl LogFormat {
    /// Parses `pretty`, `compact` or `json`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "pretty" => Some(Self::Pretty),
            "compact" | "text" | "plain" => Some(Self::Compact),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Trace sampler (`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum SamplerConfig {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    /// The default: follow the parent, sample every new trace.
    #[default]
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

impl SamplerConfig {
    /// Builds the SDK sampler this configuration names.
    pub fn to_sampler(self) -> Sampler {
        match self {
            Self::AlwaysOn => Sampler::AlwaysOn,
            Self::AlwaysOff => Sampler::AlwaysOff,
            Self::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
            Self::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Self::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            Self::ParentBasedTraceIdRatio(r) => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
            }
        }
    }

    fn parse(name: &str, arg: Option<&str>, warnings: &mut Vec<String>) -> Self {
        let mut ratio = || match arg.map(str::trim).filter(|a| !a.is_empty()) {
            None => 1.0,
            Some(a) => match a.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    warnings.push(format!(
                        "OTEL_TRACES_SAMPLER_ARG={a:?} is not a ratio in [0, 1]; using 1.0"
                    ));
                    1.0
                }
            },
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => Self::AlwaysOn,
            "always_off" => Self::AlwaysOff,
            "traceidratio" => Self::TraceIdRatio(ratio()),
            "parentbased_always_on" | "" => Self::ParentBasedAlwaysOn,
            "parentbased_always_off" => Self::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Self::ParentBasedTraceIdRatio(ratio()),
            other => {
                warnings.push(format!(
                    "OTEL_TRACES_SAMPLER={other:?} is not supported; using parentbased_always_on"
                ));
                Self::ParentBasedAlwaysOn
            }
        }
    }
}

/// Everything phase 1 and phase 2 need to know. Build it with [`TelemetryConfig::from_env`]
/// and override per worker with the `with_*` methods before calling
/// [`init_with_config`](crate::logging::init_with_config).
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `TELEMETRY_ENABLED`: export spans (and optionally metrics) over OTLP.
    pub enabled: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, the collector's base URL; `None` uses the protocol default.
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full traces URL, used as given (nothing
    /// appended); wins over `endpoint` for spans.
    pub traces_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`: the full metrics URL, used as given.
    pub metrics_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub protocol: OtlpProtocol,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`.
    pub compression: Compression,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`, `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`.
    pub tls: TlsFiles,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, decoded.
    pub headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds): bound on one export.
    pub export_timeout: Duration,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: ended spans that may wait for the exporter. When the
    /// collector falls this far behind, new spans are dropped (never the worker's steps) and
    /// counted in [`TelemetryStats::spans_dropped`](crate::logging::TelemetryStats).
    pub export_queue_size: usize,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: String,
    /// `OTEL_SERVICE_VERSION`.
    pub service_version: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: SamplerConfig,
    /// `TASKER_ENV`, exported as `deployment.environment`.
    pub environment: String,
    /// `RUST_LOG`, else `LOG_LEVEL`: the console filter directives.
    pub log_filter: String,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `OTEL_METRICS_EXPORTER=otlp`: also push metrics over OTLP, every `metrics_interval`.
    pub metrics_export: bool,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds).
    pub metrics_interval: Duration,
    pub(crate) warnings: Vec<String>,
}

impl TelemetryConfig {
    /// The export settings in which `other` differs from `self` (`service_name`, `endpoint`,
    /// ...): what a second phase 2 would change. Console settings are phase 1's and are not
    /// compared.
    pub fn export_differences(&self, other: &Self) -> Vec<&'static str> {
        let mut d = Vec::new();
        let mut check = |differs: bool, name| {
            if differs {
                d.push(name);
            }
        };
        check(self.enabled != other.enabled, "enabled");
        check(self.endpoint() != other.endpoint(), "endpoint");
        check(
            self.traces_endpoint() != other.traces_endpoint(),
            "traces_endpoint",
        );
        check(
            self.metrics_endpoint != other.metrics_endpoint,
            "metrics_endpoint",
        );
        check(self.protocol != other.protocol, "protocol");
        check(self.compression != other.compression, "compression");
        check(self.tls != other.tls, "tls");
        check(self.headers != other.headers, "headers");
        check(
            self.export_timeout != other.export_timeout,
            "export_timeout",
        );
        check(
            self.export_queue_size != other.export_queue_size,
            "export_queue_size",
        );
        check(self.service_name != other.service_name, "service_name");
        check(
            self.service_version != other.service_version,
            "service_version",
        );
        check(
            self.resource_attributes != other.resource_attributes,
            "resource_attributes",
        );
        check(self.sampler != other.sampler, "sampler");
        check(self.environment != other.environment, "environment");
        check(
            self.metrics_export != other.metrics_export,
            "metrics_export",
        );
        d
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            traces_endpoint: None,
            metrics_endpoint: None,
            protocol: OtlpProtocol::default(),
            compression: Compression::default(),
            tls: TlsFiles::default(),
            headers: Vec::new(),
            export_timeout: Duration::from_secs(10),
            export_queue_size: opentelemetry_sdk::trace::OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT,
            service_name: "tasker-core".to_owned(),
            service_version: env!("CARGO_PKG_VERSION").to_owned(),
            resource_attributes: Vec::new(),
            sampler: SamplerConfig::default(),
            environment: "development".to_owned(),
            log_filter: "info".to_owned(),
            log_format: LogFormat::default(),
            metrics_export: false,
            metrics_interval: Duration::from_secs(60),
            warnings: Vec::new(),
        }
    }
}

impl TelemetryConfig {
    /// Reads every variable of the telemetry contract from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Like [`from_env`](Self::from_env), but reads variables through `lookup`. Hosts whose
    /// environment is not the process's (a JS `process.env`, a test) use this.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut c = Self::default();
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());

        if let Some(v) = get("TELEMETRY_ENABLED") {
            c.enabled = parse_bool("TELEMETRY_ENABLED", &v, &mut c.warnings);
        }
        if let Some(v) = get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            match OtlpProtocol::parse(&v) {
                Some(p) => c.protocol = p,
                None => c.warnings.push(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={v:?} is not supported (use http/protobuf, http/json or grpc); using http/protobuf"
                )),
            }
        }
        c.endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|v| v.trim().to_owned());
        c.traces_endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").map(|v| v.trim().to_owned());
        c.metrics_endpoint =
            get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").map(|v| v.trim().to_owned());
        if let Some(v) = get("OTEL_EXPORTER_OTLP_COMPRESSION") {
            match Compression::parse(&v) {
                Some(z) => c.compression = z,
                None => c.warnings.push(format!(
                    "OTEL_EXPORTER_OTLP_COMPRESSION={v:?} is not supported (use gzip or none); using none"
                )),
            }
        }
        let path = |k: &str| get(k).map(|v| v.trim().to_owned());
        c.tls = TlsFiles {
            certificate: path("OTEL_EXPORTER_OTLP_CERTIFICATE"),
            client_certificate: path("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
            client_key: path("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        };
        if let Some(v) = get("OTEL_EXPORTER_OTLP_HEADERS") {
            c.headers = parse_key_values("OTEL_EXPORTER_OTLP_HEADERS", &v, &mut c.warnings);
        }
        if let Some(v) = get("OTEL_EXPORTER_OTLP_TIMEOUT") {
            c.export_timeout = parse_millis(
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                &v,
                c.export_timeout,
                &mut c.warnings,
            );
        }
        if let Some(v) = get("OTEL_BSP_MAX_QUEUE_SIZE") {
            match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => c.export_queue_size = n,
                _ => c.warnings.push(format!(
                    "OTEL_BSP_MAX_QUEUE_SIZE={v:?} is not a positive whole number; using {}",
                    c.export_queue_size
                )),
            }
        }
        if let Some(v) = get("OTEL_SERVICE_NAME") {
            c.service_name = v.trim().to_owned();
        }
        if let Some(v) = get("OTEL_SERVICE_VERSION") {
            c.service_version = v.trim().to_owned();
        }
        if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
            c.resource_attributes =
                parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &v, &mut c.warnings);
        }
        let sampler_arg = get("OTEL_TRACES_SAMPLER_ARG");
        if let Some(v) = get("OTEL_TRACES_SAMPLER") {
            c.sampler = SamplerConfig::parse(&v, sampler_arg.as_deref(), &mut c.warnings);
        }
        if let Some(v) = get("TASKER_ENV") {
            c.environment = v.trim().to_owned();
        }
        if let Some(v) = get("RUST_LOG").or_else(|| get("LOG_LEVEL")) {
            c.log_filter = v.trim().to_owned();
        }
        if let Some(v) = get("LOG_FORMAT") {
            match LogFormat::parse(&v) {
                Some(f) => c.log_format = f,
                None => c.warnings.push(format!(
                    "LOG_FORMAT={v:?} is not one of pretty, compact, json; using compact"
                )),
            }
        }
        if let Some(v) = get("OTEL_METRICS_EXPORTER") {
            c.metrics_export = v.split(',').any(|e| e.trim().eq_ignore_ascii_case("otlp"));
        }
        if let Some(v) = get("OTEL_METRIC_EXPORT_INTERVAL") {
            c.metrics_interval = parse_millis(
                "OTEL_METRIC_EXPORT_INTERVAL",
                &v,
                c.metrics_interval,
                &mut c.warnings,
            );
        }
        // The OTel spec's kill switch wins over TELEMETRY_ENABLED: console logging stays,
        // nothing is exported.
        if let Some(v) = get("OTEL_SDK_DISABLED") {
            if parse_bool("OTEL_SDK_DISABLED", &v, &mut c.warnings) {
                c.enabled = false;
            }
        }
        c
    }

    /// Turns OTLP export on or off.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the collector's base URL (for HTTP, `/v1/traces` is appended).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the OTLP protocol.
    pub fn with_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets `service.name`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Samples this fraction of new traces, and follows the parent's decision otherwise.
    pub fn with_sample_ratio(mut self, ratio: f64) -> Self {
        self.sampler = SamplerConfig::ParentBasedTraceIdRatio(ratio.clamp(0.0, 1.0));
        self
    }

    /// Sets the sampler.
    pub fn with_sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = sampler;
        self
    }

    /// The collector base URL in effect.
    pub fn endpoint(&self) -> &str {
        self.endpoint
            .as_deref()
            .unwrap_or_else(|| self.protocol.default_endpoint())
    }

    /// The traces URL given by `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, if any.
    pub fn traces_endpoint(&self) -> Option<&str> {
        self.traces_endpoint.as_deref()
    }

    /// Sets the full traces URL, used as given.
    pub fn with_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.traces_endpoint = Some(url.into());
        self
    }

    /// Sets request compression.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets the bound on one export.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Sets the TLS files.
    pub fn with_tls(mut self, tls: TlsFiles) -> Self {
        self.tls = tls;
        self
    }

    /// The URL one signal (`traces`, `metrics`) is sent to: its own endpoint as given, else
    /// the base URL, plus `/v1/<signal>` for HTTP.
    pub fn signal_endpoint(&self, signal: &str) -> String {
        let own = match signal {
            "traces" => self.traces_endpoint.as_deref(),
            "metrics" => self.metrics_endpoint.as_deref(),
            _ => None,
        };
        if let Some(url) = own {
            return url.to_owned();
        }
        let base = self.endpoint().trim_end_matches('/');
        match self.protocol {
            OtlpProtocol::Grpc => base.to_owned(),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let suffix = format!("/v1/{signal}");
                if base.ends_with(&suffix) {
                    base.to_owned()
                } else {
                    format!("{base}{suffix}")
                }
            }
        }
    }

    /// Problems found while reading the environment, each with the value that was used instead.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> TelemetryConfig {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TelemetryConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn an_empty_environment_gives_the_documented_defaults() {
        let c = config(&[]);
        assert!(!c.enabled);
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.endpoint(), "http://localhost:4318");
        assert_eq!(
            c.signal_endpoint("traces"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn);
        assert_eq!(c.log_format, LogFormat::Compact);
        assert_eq!(c.environment, "development");
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn every_contract_variable_is_read() {
        let c = config(&[
            ("TELEMETRY_ENABLED", "TRUE"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db,x-tenant=blue"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16384"),
            ("OTEL_SERVICE_NAME", "tasker-ruby-worker"),
            ("OTEL_SERVICE_VERSION", "0.1.0"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=core,region=eu"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("LOG_LEVEL", "debug"),
            ("LOG_FORMAT", "json"),
            ("TASKER_ENV", "test"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ]);
        assert!(c.enabled);
        assert_eq!(c.protocol, OtlpProtocol::Grpc);
        assert_eq!(c.signal_endpoint("traces"), "http://collector:4317");
        assert_eq!(
            c.headers,
            vec![
                ("api-key".to_owned(), "a=b".to_owned()),
                ("x-tenant".to_owned(), "blue".to_owned())
            ]
        );
        assert_eq!(c.export_timeout, Duration::from_millis(2500));
        assert_eq!(c.export_queue_size, 16384);
        assert_eq!(c.service_name, "tasker-ruby-worker");
        assert_eq!(c.service_version, "0.1.0");
        assert_eq!(c.resource_attributes.len(), 2);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedTraceIdRatio(0.25));
        assert_eq!(c.log_filter, "debug");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.environment, "test");
        assert!(c.metrics_export);
        assert_eq!(c.metrics_interval, Duration::from_secs(1));
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    #[test]
    fn signal_endpoints_compression_and_tls_files_are_read() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://base:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://api.example/otlp/spans",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "https://api.example/otlp/m",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client.key"),
        ]);
        assert_eq!(
            c.signal_endpoint("traces"),
            "https://api.example/otlp/spans"
        );
        assert_eq!(c.signal_endpoint("metrics"), "https://api.example/otlp/m");
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(
            c.tls,
            TlsFiles {
                certificate: Some("/etc/ca.pem".into()),
                client_certificate: Some("/etc/client.pem".into()),
                client_key: Some("/etc/client.key".into()),
            }
        );
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    #[test]
    fn a_grpc_signal_endpoint_is_used_as_given_too() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces:4317"),
        ]);
        assert_eq!(c.signal_endpoint("traces"), "https://traces:4317");
        assert_eq!(c.signal_endpoint("metrics"), "http://localhost:4317");
    }

    #[test]
    fn otel_sdk_disabled_wins_over_telemetry_enabled() {
        let c = config(&[("TELEMETRY_ENABLED", "true"), ("OTEL_SDK_DISABLED", "true")]);
        assert!(!c.enabled);
        let c = config(&[
            ("TELEMETRY_ENABLED", "true"),
            ("OTEL_SDK_DISABLED", "false"),
        ]);
        assert!(c.enabled);
    }

    #[test]
    fn http_json_is_a_protocol_and_unknown_compression_warns() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ]);
        assert_eq!(c.protocol, OtlpProtocol::HttpJson);
        assert_eq!(
            c.signal_endpoint("traces"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(c.compression, Compression::None);
        assert_eq!(
            c.warnings(),
            [
                "OTEL_EXPORTER_OTLP_COMPRESSION=\"brotli\" is not supported (use gzip or none); using none"
            ]
        );
    }

    #[test]
    fn rust_log_wins_over_log_level() {
        let c = config(&[("RUST_LOG", "warn,tasker=debug"), ("LOG_LEVEL", "debug")]);
        assert_eq!(c.log_filter, "warn,tasker=debug");
    }

    #[test]
    fn bad_values_fall_back_to_defaults_with_a_warning() {
        let c = config(&[
            ("TELEMETRY_ENABLED", "maybe"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "7"),
            ("LOG_FORMAT", "xml"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ]);
        assert!(!c.enabled);
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedTraceIdRatio(1.0));
        assert_eq!(c.log_format, LogFormat::Compact);
        assert_eq!(c.export_queue_size, 2048);
        assert_eq!(c.warnings().len(), 5, "{:?}", c.warnings());
        assert!(c.warnings()[0].contains("TELEMETRY_ENABLED=\"maybe\""));
    }

    #[test]
    fn an_http_endpoint_that_already_names_the_signal_is_kept() {
        let c = TelemetryConfig::default().with_endpoint("http://c:4318/v1/traces");
        assert_eq!(c.signal_endpoint("traces"), "http://c:4318/v1/traces");
    }

    #[test]
    fn sample_ratio_override_is_parent_based_and_clamped() {
        let c = TelemetryConfig::default().with_sample_ratio(3.0);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedTraceIdRatio(1.0));
    }
}
