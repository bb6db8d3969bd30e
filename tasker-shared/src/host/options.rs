//! The option rules every host's `bootstrap_worker` shares: which keys exist, what each
//! must be, and the message when it is not. Ruby and Python pass snake_case keys
//! (`service_name`); JS passes camelCase (`serviceName`); the rules are the same.

use serde_json::{Map, Value};

use crate::TaskerError;
use crate::logging::{Compression, OtlpProtocol, TelemetryConfig};

/// How a host spells multi-word keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `service_name` (Ruby, Python).
    Snake,
    /// `serviceName` (JS).
    Camel,
}

impl Naming {
    /// `snake` (a snake_case key) as this host spells it.
    pub fn key(self, snake: &str) -> String {
        match self {
            Naming::Snake => snake.to_owned(),
            Naming::Camel => {
                let mut out = String::with_capacity(snake.len());
                let mut upper = false;
                for c in snake.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

fn bad(msg: String) -> TaskerError {
    TaskerError::Config(msg)
}

/// Refuses a key of `opts` that is not in `known`, naming the known ones.
pub fn check_keys(
    opts: &Map<String, Value>,
    known: &[&str],
    what: &str,
) -> Result<(), TaskerError> {
    match opts.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(format!(
            "unknown {what} option {k:?} (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A positive integer option.
pub fn positive_int(v: &Value, key: &str) -> Result<usize, TaskerError> {
    v.as_u64()
        .filter(|n| *n > 0)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| bad(format!("{key} must be a positive integer, got {v}")))
}

/// A positive, finite number option.
pub fn positive_number(v: &Value, key: &str, unit: &str) -> Result<f64, TaskerError> {
    v.as_f64()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| {
            bad(format!(
                "{key} must be a positive number of {unit}, got {v}"
            ))
        })
}

/// A string option.
pub fn string(v: &Value, key: &str) -> Result<String, TaskerError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("{key} must be a string, got {v}")))
}

/// The telemetry keys, snake_case; `exporter` is JS's callback, which that host takes out
/// before the rest is read here.
pub const TELEMETRY_KEYS: &[&str] = &[
    "enabled",
    "endpoint",
    "traces_endpoint",
    "metrics_endpoint",
    "protocol",
    "headers",
    "timeout_ms",
    "compression",
    "certificate",
    "client_certificate",
    "client_key",
    "service_name",
    "service_version",
    "sample_ratio",
];

/// `telemetry: {enabled, endpoint, traces_endpoint, metrics_endpoint, protocol, headers,
/// timeout_ms, compression, certificate, client_certificate, client_key, service_name,
/// service_version, sample_ratio}`, each the host spelling of an OTel variable
/// over `base` (the environment's config), with keys spelled as `naming` says. `extra` are
/// keys this host also accepts and handles itself.
pub fn telemetry(
    mut base: TelemetryConfig,
    v: &Value,
    naming: Naming,
    extra: &[&str],
) -> Result<TelemetryConfig, TaskerError> {
    let opts = v
        .as_object()
        .ok_or_else(|| bad(format!("telemetry must be a Hash/dict/object, got {v}")))?;
    let mut known: Vec<String> = TELEMETRY_KEYS.iter().map(|k| naming.key(k)).collect();
    known.extend(extra.iter().map(|k| (*k).to_owned()));
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    check_keys(opts, &known, "telemetry")?;
    for snake in TELEMETRY_KEYS {
        let key = naming.key(snake);
        let Some(v) = opts.get(&key).filter(|v| !v.is_null()) else {
            continue;
        };
        let name = format!("telemetry {key}");
        match *snake {
            "enabled" => {
                base.enabled = v
                    .as_bool()
                    .ok_or_else(|| bad(format!("{name} must be true or false, got {v}")))?;
            }
            "endpoint" => base.endpoint = Some(string(v, &name)?),
            "traces_endpoint" => base.traces_endpoint = Some(string(v, &name)?),
            "metrics_endpoint" => base.metrics_endpoint = Some(string(v, &name)?),
            "protocol" => {
                let p = string(v, &name)?;
                base.protocol = OtlpProtocol::parse(&p).ok_or_else(|| {
                    bad(format!(
                        "{name} {p:?} is not http/protobuf, http/json or grpc"
                    ))
                })?;
            }
            "headers" => {
                let map = v.as_object().ok_or_else(|| {
                    bad(format!("{name} must map header names to strings, got {v}"))
                })?;
                base.headers = map
                    .iter()
                    .map(|(k, hv)| Ok((k.clone(), string(hv, &format!("{name} {k}"))?)))
                    .collect::<Result<_, TaskerError>>()?;
            }
            "timeout_ms" => {
                base.export_timeout =
                    std::time::Duration::from_millis(positive_int(v, &name)? as u64);
            }
            "compression" => {
                let c = string(v, &name)?;
                base.compression = Compression::parse(&c)
                    .ok_or_else(|| bad(format!("{name} {c:?} is not gzip or none")))?;
            }
            "certificate" => base.tls.certificate = Some(string(v, &name)?),
            "client_certificate" => base.tls.client_certificate = Some(string(v, &name)?),
            "client_key" => base.tls.client_key = Some(string(v, &name)?),
            "service_name" => base.service_name = string(v, &name)?,
            "service_version" => base.service_version = string(v, &name)?,
            "sample_ratio" => {
                let r = v
                    .as_f64()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| bad(format!("{name} must be between 0 and 1, got {v}")))?;
                base = base.with_sample_ratio(r);
            }
            _ => {}
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_export_keys_are_the_otel_variables_in_host_spelling() {
        let c = telemetry(
            TelemetryConfig::default(),
            &json!({
                "tracesEndpoint": "https://x/v1/traces",
                "headers": {"api-key": "k"},
                "timeoutMs": 2500,
                "compression": "gzip",
                "certificate": "/ca.pem",
                "clientCertificate": "/c.pem",
                "clientKey": "/c.key",
            }),
            Naming::Camel,
            &[],
        )
        .expect("valid");
        assert_eq!(c.signal_endpoint("traces"), "https://x/v1/traces");
        assert_eq!(c.headers, vec![("api-key".to_owned(), "k".to_owned())]);
        assert_eq!(c.export_timeout, std::time::Duration::from_millis(2500));
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(c.tls.certificate.as_deref(), Some("/ca.pem"));
        assert_eq!(c.tls.client_key.as_deref(), Some("/c.key"));
        let err = telemetry(
            TelemetryConfig::default(),
            &json!({"compression": "brotli"}),
            Naming::Snake,
            &[],
        )
        .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "invalid worker configuration: telemetry compression \"brotli\" is not gzip or none"
        );
    }

    #[test]
    fn camel_case_hosts_spell_the_same_keys_their_way() {
        assert_eq!(Naming::Camel.key("sample_ratio"), "sampleRatio");
        assert_eq!(Naming::Camel.key("enabled"), "enabled");
        let t = telemetry(
            TelemetryConfig::default(),
            &json!({"serviceName": "svc", "sampleRatio": 0.5, "exporter": null}),
            Naming::Camel,
            &["exporter"],
        )
        .expect("valid");
        assert_eq!(t.service_name, "svc");
    }

    #[test]
    fn a_bad_telemetry_option_names_the_key_as_the_host_spells_it() {
        let err = telemetry(
            TelemetryConfig::default(),
            &json!({"sampleRatio": 2}),
            Naming::Camel,
            &[],
        )
        .expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid worker configuration: telemetry sampleRatio must be between 0 and 1, got 2"
        );
    }
}
