//! `make demo`: linear_workflow on the native worker, with telemetry exported to a real
//! local OTLP collector (rotel) that the demo starts itself, and a summary showing that every
//! span of the task shares one trace id.

#![allow(clippy::print_stdout, reason = "the demo prints its summary")]

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tasker_shared::logging::TelemetryConfig;
use tasker_testkit::Collector;
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{RustWorker, handlers, templates};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let collector = Collector::start();
    println!(
        "collector: rotel at {} (OTLP/HTTP)",
        collector.http_endpoint()
    );
    let config = WorkerConfig {
        telemetry: Some(
            TelemetryConfig::from_env()
                .with_enabled(true)
                .with_endpoint(collector.http_endpoint())
                .with_service_name("tasker-rust-worker"),
        ),
        ..WorkerConfig::default()
    };
    let worker = RustWorker::start(config, handlers::example_registry())?;
    let result = worker.run_task(
        templates::linear()?,
        json!({"even_number": 2}),
        Some(Duration::from_secs(30)),
    )?;
    worker.stop()?;

    let trace_id = result.trace_id.clone().ok_or("the task has no trace id")?;
    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 9);
    println!("\n== linear_workflow on the native Rust worker ==");
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "status": result.status,
            "task_uuid": result.task_uuid,
            "correlation_id": result.correlation_id,
            "trace_id": trace_id,
            "step_results": result.step_results,
        }))?
    );
    let traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    println!(
        "\nthe collector received {} spans in {} trace(s):",
        spans.len(),
        traces.len()
    );
    // Print the trace as a tree: root, then each step's execution span and its completion.
    let line = |indent: &str, s: &tasker_testkit::CollectedSpan| {
        let link = s
            .links
            .first()
            .map(|l| format!("  (link -> {})", l.span_id))
            .unwrap_or_default();
        println!(
            "  {indent}{} {} [trace {}]{link}",
            s.name, s.span_id, s.trace_id
        );
    };
    for root in spans.iter().filter(|s| s.parent_id.is_empty()) {
        line("", root);
        let mut steps: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_id == root.span_id)
            .collect();
        steps.sort_by_key(|s| s.attr("step_name").map(str::to_owned));
        for step in steps {
            println!("    {}", step.attr("step_name").unwrap_or("?"));
            line("    ", step);
            for done in spans.iter().filter(|s| s.parent_id == step.span_id) {
                line("      ", done);
            }
        }
    }
    if result.is_complete()
        && traces.len() == 1
        && traces.contains(trace_id.as_str())
        && spans.len() == 9
    {
        println!(
            "\none trace: all {} spans of the task share trace_id {trace_id}",
            spans.len()
        );
        Ok(())
    } else {
        Err(format!("expected a complete task and 9 spans in one trace, got {:?} and {} spans in {traces:?}", result.status, spans.len()).into())
    }
}
