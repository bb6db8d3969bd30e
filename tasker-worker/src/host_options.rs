//! `bootstrap_worker(concurrency:, telemetry: {...})` as the Ruby and Python packages pass
//! it: a JSON object of options, read here once so both bindings stay thin and agree.

use std::time::Duration;

use serde_json::Value;
use tasker_shared::host::options::{self, Naming, positive_int, string};
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::{TaskerError, TaskerResult};

use crate::config::WorkerConfig;

const WORKER_KEYS: &[&str] = &[
    "concurrency",
    "handler_timeout",
    "dispatch_buffer",
    "worker_id",
    "namespaces",
    "web_bind_address",
    "drain_timeout",
    "telemetry",
    "database_url",
    "queues",
    "poll_interval",
    "notify",
];
fn bad(msg: String) -> TaskerError {
    TaskerError::Config(msg)
}

fn seconds(v: &Value, key: &str) -> TaskerResult<Duration> {
    options::positive_number(v, key, "seconds").map(Duration::from_secs_f64)
}

fn strings(v: &Value, key: &str) -> TaskerResult<Vec<String>> {
    v.as_array()
        .ok_or_else(|| bad(format!("{key} must be a list of strings, got {v}")))?
        .iter()
        .map(|n| string(n, &format!("{key}[]")))
        .collect()
}

/// Builds a worker config for a host `language` from its options (`null` or an object):
/// environment first, then the options over it.
pub fn worker_config_from_options(options: &Value, language: &str) -> TaskerResult<WorkerConfig> {
    let mut config = WorkerConfig::from_env()?;
    config.language = language.to_owned();
    let opts = match options {
        Value::Null => return Ok(config),
        Value::Object(m) => m,
        other => return Err(bad(format!("options must be a Hash/dict, got {other}"))),
    };
    options::check_keys(opts, WORKER_KEYS, "worker")?;
    for (key, v) in opts {
        if v.is_null() {
            continue;
        }
        match key.as_str() {
            "concurrency" => config.concurrency = positive_int(v, key)?,
            "dispatch_buffer" => config.dispatch_buffer = positive_int(v, key)?,
            "handler_timeout" => config.handler_timeout = seconds(v, key)?,
            "drain_timeout" => config.drain_timeout = seconds(v, key)?,
            "worker_id" => config.worker_id = string(v, key)?,
            "web_bind_address" => {
                let s = string(v, key)?;
                config.web_bind_address = Some(s.parse().map_err(|_| {
                    bad(format!(
                        "web_bind_address {s:?} is not a socket address like 127.0.0.1:8082"
                    ))
                })?);
            }
            "namespaces" => config.namespaces = strings(v, key)?,
            "queues" => config.queues = strings(v, key)?,
            "database_url" => config.database_url = Some(string(v, key)?),
            "poll_interval" => config.poll_interval = seconds(v, key)?,
            "notify" => {
                config.notify = v
                    .as_bool()
                    .ok_or_else(|| bad(format!("notify must be true or false, got {v}")))?;
            }
            "telemetry" => config.telemetry = Some(telemetry_from_options(v)?),
            _ => {}
        }
    }
    config.validate()?;
    Ok(config)
}

/// `bootstrap_worker(options)` for a host: parses and validates `options` (even when a
/// worker is already running), then starts the process worker or returns the running one if
/// the options ask for nothing different ([`crate::bootstrap_worker`]).
pub fn bootstrap_from_options(options: &Value, language: &str) -> TaskerResult<crate::Worker> {
    let config = worker_config_from_options(options, language)?;
    let explicit_id = options.get("worker_id").is_some_and(|v| !v.is_null());
    crate::bootstrap::bootstrap_compared(config, explicit_id)
}

/// `telemetry: {enabled, endpoint, protocol, service_name, service_version, sample_ratio}`
/// over the environment's telemetry config (the rules of `tasker_shared::host::options`).
pub fn telemetry_from_options(v: &Value) -> TaskerResult<TelemetryConfig> {
    options::telemetry(TelemetryConfig::from_env(), v, Naming::Snake, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_override_the_defaults() {
        let c = worker_config_from_options(
            &json!({
                "concurrency": 8, "handler_timeout": 1.5, "worker_id": "worker-ruby-1",
                "namespaces": ["a"], "web_bind_address": "127.0.0.1:0",
                "telemetry": {"enabled": true, "endpoint": "http://c:4318", "protocol": "grpc",
                              "service_name": "svc", "sample_ratio": 0.5}
            }),
            "ruby",
        )
        .expect("valid");
        assert_eq!(
            (c.concurrency, c.language.as_str(), c.worker_id.as_str()),
            (8, "ruby", "worker-ruby-1")
        );
        assert_eq!(c.handler_timeout, Duration::from_millis(1500));
        let t = c.telemetry.expect("telemetry");
        assert!(t.enabled);
        assert_eq!(t.protocol, tasker_shared::logging::OtlpProtocol::Grpc);
        assert_eq!(t.service_name, "svc");
    }

    #[test]
    fn bad_options_name_the_option() {
        let err = |v: Value| {
            worker_config_from_options(&v, "python")
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            err(json!({"concurency": 2})),
            "invalid worker configuration: unknown worker option \"concurency\" (known: concurrency, handler_timeout, dispatch_buffer, worker_id, namespaces, web_bind_address, drain_timeout, telemetry, database_url, queues, poll_interval, notify)"
        );
        assert_eq!(
            err(json!({"concurrency": 0})),
            "invalid worker configuration: concurrency must be a positive integer, got 0"
        );
        assert_eq!(
            err(json!({"telemetry": {"protocol": "smoke"}})),
            "invalid worker configuration: telemetry protocol \"smoke\" is not http/protobuf, http/json or grpc"
        );
        assert_eq!(
            err(json!([1])),
            "invalid worker configuration: options must be a Hash/dict, got [1]"
        );
    }
}
