//! Log records that come from a host language (Ruby's `TaskerCore::Tracing`, Python's
//! `tasker_core.tracing`), emitted through the same pipeline as Rust's own.

use serde_json::Value;
use tracing::Level;

/// Which host a record came from; it becomes the event's target (`tasker_ruby`, ...), which
/// log forwarding uses to avoid echoing a host's records back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Ruby,
    Python,
    Js,
}

/// Parses a host's level name: trace, debug, info, warn/warning, error/fatal/critical.
pub fn parse_level(name: &str) -> Option<Level> {
    match name.to_ascii_lowercase().as_str() {
        "trace" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" | "warning" => Some(Level::WARN),
        "error" | "fatal" | "critical" => Some(Level::ERROR),
        _ => None,
    }
}

/// Emits one host record. `fields` (a JSON object) rides along as one `fields` value, and
/// its `trace_id` / `span_id`, when present, as their own, so a handler's line names its step.
pub fn host_log(host: Host, level: Level, message: &str, fields: &Value) {
    let get = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (trace_id, span_id) = (get("trace_id"), get("span_id"));
    let fields = fields.to_string();
    macro_rules! emit {
        ($target:literal) => {
            match level {
                Level::TRACE => tracing::trace!(target: $target, trace_id = %trace_id, span_id = %span_id, fields = %fields, "{message}"),
                Level::DEBUG => tracing::debug!(target: $target, trace_id = %trace_id, span_id = %span_id, fields = %fields, "{message}"),
                Level::INFO => tracing::info!(target: $target, trace_id = %trace_id, span_id = %span_id, fields = %fields, "{message}"),
                Level::WARN => tracing::warn!(target: $target, trace_id = %trace_id, span_id = %span_id, fields = %fields, "{message}"),
                Level::ERROR => tracing::error!(target: $target, trace_id = %trace_id, span_id = %span_id, fields = %fields, "{message}"),
            }
        };
    }
    match host {
        Host::Ruby => emit!("tasker_ruby"),
        Host::Python => emit!("tasker_python"),
        Host::Js => emit!("tasker_js"),
    }
}
