//! What phase 1 and phase 2 print. Each scenario runs in a child process (telemetry is
//! process-global, and the lines go to stderr), started by the test of the same name.

use std::process::Command;

use serde_json::Value;
use tasker_shared::logging::{self, TelemetryConfig};
use tasker_shared::{log_ffi, trace_context};

/// Names the scenario a child process runs.
const CHILD_VAR: &str = "TASKER_CONSOLE_TEST_CHILD";

/// In the child process that `run_child` started for `name`, runs `body` and returns true.
fn as_child(name: &str, body: fn()) -> bool {
    let here = std::env::var(CHILD_VAR).is_ok_and(|v| v == name);
    if here {
        body();
    }
    here
}

/// Runs the test `parent` again in a fresh process with `env`, where it runs the scenario
/// `child` instead of its assertions; returns that process's stderr.
fn run_child(parent: &str, child: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([parent, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env(CHILD_VAR, child);
    for key in [
        "TELEMETRY_ENABLED",
        "RUST_LOG",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "TASKER_ENV",
        "NO_COLOR",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run child");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "child {child} failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn line_with<'a>(output: &'a str, needle: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{output}"))
}

#[test]
fn phase_one_logs_console_only_with_its_fields() {
    if as_child("child_phase_one_disabled", child_phase_one_disabled) {
        return;
    }
    let out = run_child(
        "phase_one_logs_console_only_with_its_fields",
        "child_phase_one_disabled",
        &[("TASKER_ENV", "test")],
    );
    let line = line_with(&out, "Console-only logging initialized (FFI-safe mode)");
    for field in [
        "environment=test",
        "opentelemetry_enabled=false",
        "context=\"ffi_initialization\"",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    assert!(!out.contains("deferring"), "{out}");
    assert!(
        !out.contains("Console logging with OpenTelemetry initialized"),
        "phase 2 with telemetry off changes nothing:\n{out}"
    );
    let ffi = line_with(&out, "FFI console logging initialized (no telemetry)");
    assert!(
        ffi.contains("component=\"ffi_boundary\"") && ffi.contains("workers=4"),
        "{ffi}"
    );
}

/// The child process of `phase_one_logs_console_only_with_its_fields`.
fn child_phase_one_disabled() {
    logging::init_console_only();
    logging::init_console_only();
    log_ffi!(info, "FFI console logging initialized (no telemetry)", component: "ffi_boundary", workers: 4);
    logging::init_tracing().expect("disabled phase 2 is harmless");
}

#[test]
fn with_telemetry_enabled_phase_one_defers_export_and_phase_two_announces_it() {
    if as_child("child_phase_one_enabled", child_phase_one_enabled) {
        return;
    }
    let out = run_child(
        "with_telemetry_enabled_phase_one_defers_export_and_phase_two_announces_it",
        "child_phase_one_enabled",
        &[
            ("TASKER_ENV", "test"),
            ("TELEMETRY_ENABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SERVICE_NAME", "tasker-ruby-worker"),
        ],
    );
    let p1 = line_with(&out, "Console-only logging initialized (FFI-safe mode)");
    assert!(p1.contains("opentelemetry_enabled=true"), "{p1}");
    line_with(
        &out,
        "TAS-65: Telemetry enabled - deferring OpenTelemetry export to runtime context",
    );
    let p2 = line_with(&out, "Console logging with OpenTelemetry initialized");
    for field in [
        "environment=test",
        "opentelemetry_enabled=true",
        "otlp_endpoint=http://127.0.0.1:4318",
        "service_name=tasker-ruby-worker",
    ] {
        assert!(p2.contains(field), "{field} missing from {p2}");
    }
    let order = [
        "deferring",
        "Console logging with OpenTelemetry initialized",
        "Global meter provider is set",
        "OpenTelemetry Prometheus text exporter initialized",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|n| out.find(n).unwrap_or_else(|| panic!("{n} missing:\n{out}")))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{out}"
    );
    line_with(&out, "logged before phase 2");
}

/// The child process of `with_telemetry_enabled_phase_one_defers_export_and_phase_two_announces_it`.
fn child_phase_one_enabled() {
    logging::init_console_only();
    tracing::info!("logged before phase 2");
    logging::init_tracing().expect("phase 2");
    // No spans were made, so nothing can fail to export.
    logging::shutdown_telemetry().expect("shutdown");
}

#[test]
fn json_lines_carry_span_fields_and_the_trace_id() {
    if as_child("child_json", child_json) {
        return;
    }
    let out = run_child(
        "json_lines_carry_span_fields_and_the_trace_id",
        "child_json",
        &[("LOG_FORMAT", "json")],
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let ids = lines
        .iter()
        .find(|l| l["message"] == "ids")
        .expect("ids line");
    let step = lines
        .iter()
        .find(|l| l["message"] == "step.execution_started")
        .expect("event line");
    assert_eq!(step["level"], "INFO");
    assert_eq!(step["fields"]["attempt"], 1);
    assert_eq!(step["span"]["name"], "worker.step_execution");
    assert_eq!(step["span"]["step_name"], "linear_step_1");
    assert_eq!(step["spans"][0]["name"], "task");
    assert_eq!(step["trace_id"], ids["fields"]["trace_id"]);
    assert_eq!(step["span_id"], ids["fields"]["span_id"]);
    assert_eq!(step["trace_id"].as_str().map(str::len), Some(32));
    assert!(lines.iter().any(|l| l["message"] == "after shutdown"));
}

#[test]
fn a_compact_step_line_carries_each_field_once_and_the_trace_ids() {
    if as_child("child_compact", child_compact) {
        return;
    }
    let out = run_child(
        "a_compact_step_line_carries_each_field_once_and_the_trace_ids",
        "child_compact",
        &[],
    );
    let ids = line_with(&out, " ids ");
    // An event naming its own trace_id keeps it, and no second one is added.
    assert_eq!(ids.matches(" trace_id=").count(), 1, "{ids}");
    let trace_id = ids
        .split("trace_id=")
        .nth(1)
        .and_then(|r| r.split([' ', '"']).find(|s| !s.is_empty()))
        .expect("the ids line names the trace id");
    let line = line_with(&out, "step.execution_started");
    for field in [
        "task_uuid",
        "correlation_id",
        "step_name",
        "attempt",
        "trace_id",
        "span_id",
    ] {
        assert_eq!(
            line.matches(&format!(" {field}=")).count(),
            1,
            "{field} once in: {line}"
        );
    }
    assert!(
        line.contains(" INFO task:worker.step_execution: console_logging: step.execution_started attempt=1 task_uuid=\"t-1\" correlation_id=\"c-1\" step_name=\"linear_step_1\" template=\"linear\" trace_id="),
        "{line}"
    );
    assert!(
        line.contains(&format!("trace_id={trace_id} span_id=")),
        "{line}"
    );
}

/// The child process of `a_compact_step_line_carries_each_field_once_and_the_trace_ids`.
fn child_compact() {
    logging::init_console_only();
    let task = tracing::info_span!(
        "task",
        task_uuid = "t-1",
        correlation_id = "c-1",
        template = "linear"
    );
    let _t = task.enter();
    let step = tracing::info_span!(
        "worker.step_execution",
        task_uuid = "t-1",
        correlation_id = "c-1",
        step_name = "linear_step_1"
    );
    let ids = trace_context::span_ids(&step).expect("ids");
    tracing::info!(trace_id = %ids.trace_id, "ids");
    step.in_scope(|| {
        tracing::info!(
            attempt = 1,
            task_uuid = "t-1",
            correlation_id = "c-1",
            "step.execution_started"
        )
    });
}

/// The child process of `json_lines_carry_span_fields_and_the_trace_id`.
fn child_json() {
    logging::init_console_only();
    let task = tracing::info_span!("task", task_uuid = "t-1");
    let _t = task.enter();
    let step = tracing::info_span!("worker.step_execution", step_name = "linear_step_1");
    let ids = trace_context::span_ids(&step).expect("ids");
    tracing::info!(trace_id = %ids.trace_id, span_id = %ids.span_id, "ids");
    step.in_scope(|| tracing::info!(attempt = 1, "step.execution_started"));
    logging::shutdown_telemetry().expect("shutdown");
    tracing::info!("after shutdown");
}

#[test]
fn phase_one_from_many_threads_at_once_initializes_exactly_once() {
    if as_child("child_many_threads", child_many_threads) {
        return;
    }
    let out = run_child(
        "phase_one_from_many_threads_at_once_initializes_exactly_once",
        "child_many_threads",
        &[],
    );
    assert_eq!(
        out.matches("Console-only logging initialized (FFI-safe mode)")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches("from a host thread").count(), 8, "{out}");
}

/// The child process of `phase_one_from_many_threads_at_once_initializes_exactly_once`.
fn child_many_threads() {
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                logging::init_console_only();
                tracing::info!(thread = i, "from a host thread");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
}

#[test]
fn a_bad_log_filter_is_reported_and_info_is_used() {
    if as_child("child_bad_filter", child_bad_filter) {
        return;
    }
    let out = run_child(
        "a_bad_log_filter_is_reported_and_info_is_used",
        "child_bad_filter",
        &[("RUST_LOG", "info,[[[")],
    );
    line_with(&out, "is invalid");
    line_with(&out, "still logging at info");
}

/// The child process of `a_bad_log_filter_is_reported_and_info_is_used`.
fn child_bad_filter() {
    logging::init_console_only();
    tracing::info!("still logging at info");
}

#[test]
fn config_overrides_env_in_phase_two() {
    if as_child("child_override", child_override) {
        return;
    }
    let out = run_child(
        "config_overrides_env_in_phase_two",
        "child_override",
        &[
            ("TELEMETRY_ENABLED", "false"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ],
    );
    let p2 = line_with(&out, "Console logging with OpenTelemetry initialized");
    assert!(p2.contains("service_name=from-config"), "{p2}");
    assert!(
        p2.contains("otlp_endpoint=http://localhost:4318"),
        "the protocol default: {p2}"
    );
}

/// The child process of `config_overrides_env_in_phase_two`.
fn child_override() {
    logging::init_console_only();
    let config = TelemetryConfig::from_env()
        .with_enabled(true)
        .with_service_name("from-config");
    logging::init_with_config(config).expect("phase 2");
    assert_eq!(
        logging::active_config().expect("active").service_name,
        "from-config"
    );
    logging::shutdown_telemetry().expect("shutdown");
}
