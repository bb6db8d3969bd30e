//! `make demo`: linear_workflow driven through the sans-IO machine, with the spec's spans,
//! exported to a real local collector (rotel) that the demo starts, and a summary showing
//! that the whole task is one trace. The full worker runtime builds on exactly this flow.

#![allow(clippy::print_stdout, reason = "the demo prints its summary")]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tasker_shared::logging::{self, TelemetryConfig};
use tasker_shared::trace_context::{self, TraceParent};
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{Action, Task, TaskTemplate};
use tasker_testkit::Collector;
use tracing::{info, info_span};
use uuid::Uuid;

const LINEAR: &str = "
namespace: linear_workflow
name: linear
version: 1.0.0
steps:
  - {name: linear_step_1, handler: square}
  - {name: linear_step_2, handler: square, depends_on: [linear_step_1]}
  - {name: linear_step_3, handler: square, depends_on: [linear_step_2]}
  - {name: linear_step_4, handler: square, depends_on: [linear_step_3]}
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let collector = Collector::start();
    logging::init_console_only();
    logging::init_with_config(
        TelemetryConfig::from_env()
            .with_enabled(true)
            .with_endpoint(collector.http_endpoint())
            .with_service_name("tasker-demo"),
    )?;

    let template = TaskTemplate::from_yaml(LINEAR)?;
    let (task_uuid, correlation_id) = (Uuid::new_v4(), Uuid::new_v4());
    let root = info_span!("task.run", task_uuid = %task_uuid, correlation_id = %correlation_id, task_name = "linear");
    let root_ids = trace_context::span_ids(&root).ok_or("no trace ids")?;
    let mut task = Task::new(
        template,
        json!({"even_number": 2}),
        task_uuid,
        correlation_id,
    )?
    .with_traceparent(Some(root_ids.traceparent.clone()));

    let mut pending = task.start();
    let mut outcome = None;
    while let Some(action) = pending.pop() {
        match action {
            Action::Finished(o) => outcome = Some(o),
            Action::Dispatch(ready) => {
                let seq = &ready.sequence;
                let step = info_span!(
                    "worker.step_execution",
                    correlation_id = %seq.task.correlation_id,
                    task_uuid = %seq.task.task_uuid,
                    step_uuid = %seq.workflow_step.step_uuid,
                    step_name = %seq.workflow_step.name,
                    namespace = %seq.task.namespace_name,
                );
                if let Some(tp) = &ready.message.traceparent {
                    trace_context::set_parent(&step, trace_context::parent_from_traceparent(tp)?)?;
                }
                let ids = trace_context::span_ids(&step).ok_or("no ids")?;
                step.in_scope(|| info!("step.execution_started"));

                // The "handler": square the previous result (or the task input).
                let started = Instant::now();
                let input = seq
                    .dependency_results
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| seq.task.context["even_number"].clone());
                let n = input.as_u64().unwrap_or(0);
                let result = Value::from(n * n);
                let ms = started.elapsed().as_millis() as u64;

                // The completion comes back with the ids as opaque strings.
                let done = info_span!("worker.step_completion_received", step_uuid = %seq.workflow_step.step_uuid);
                trace_context::set_parent(
                    &done,
                    trace_context::parent_context(&ids.trace_id, &ids.span_id)?,
                )?;
                trace_context::add_link(
                    &done,
                    TraceParent::parse(&ids.traceparent)?.to_span_context(),
                );
                done.in_scope(|| {
                    info!(
                        success = true,
                        duration_ms = ms,
                        "step.rust_execution_completed"
                    )
                });
                drop(done);
                step.in_scope(|| info!("step.execution_completed"));
                drop(step);

                let r = StepExecutionResult::success(ready.message.step_uuid, result, ms);
                pending.extend(task.on_result(r)?);
            }
        }
    }
    drop(root);
    logging::shutdown_telemetry()?;

    let outcome = outcome.ok_or("the task did not finish")?;
    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 9);
    let traces: std::collections::BTreeSet<&str> =
        spans.iter().map(|s| s.trace_id.as_str()).collect();
    println!("\n== linear_workflow on the Rust core ==");
    println!("status        {:?}", outcome.status);
    println!("task_uuid     {}", outcome.task_uuid);
    println!(
        "step_results  {}",
        Value::Object(outcome.step_results.clone())
    );
    println!("trace_id      {}", root_ids.trace_id);
    println!(
        "collector received {} spans in {} trace(s):",
        spans.len(),
        traces.len()
    );
    for s in &spans {
        let link = s
            .links
            .first()
            .map(|l| format!(" link->{}", l.span_id))
            .unwrap_or_default();
        let parent = if s.parent_id.is_empty() {
            "(root)"
        } else {
            s.parent_id.as_str()
        };
        println!(
            "  {}  {:<34} span {} parent {}{}",
            s.trace_id, s.name, s.span_id, parent, link
        );
    }
    if traces.len() == 1 && traces.contains(root_ids.trace_id.as_str()) && spans.len() == 9 {
        println!(
            "one trace: every span of the task shares trace_id {}",
            root_ids.trace_id
        );
        Ok(())
    } else {
        Err(format!(
            "expected 9 spans in one trace, got {} in {traces:?}",
            spans.len()
        )
        .into())
    }
}
