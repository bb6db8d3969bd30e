//! The task driver on the JS event loop: the same sans-IO machine the Tokio worker runs,
//! with up to `concurrency` steps in flight as promises.

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Value, json};
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{Action, ReadyStep, Task, TaskTemplate};
use tasker_shared::{step_spans, trace_context};

use crate::bridge::{self, Outcome};
use crate::errors::WasmError;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// One step: execution span, the handler, the completion span.
async fn run_step(ready: ReadyStep, default_timeout: std::time::Duration) -> StepExecutionResult {
    let (span, ids) = step_spans::execution_span(&ready);
    let timeout =
        tasker_shared::host::step_timeout(ready.sequence.workflow_step.timeout_ms, default_timeout);
    span.in_scope(|| tracing::info!("step.execution_started"));
    let event = step_spans::execution_event(ready, ids.as_ref(), timeout);
    let timeout_ms = event.timeout_ms as f64;
    let started = now_ms();
    let outcome = bridge::call(&event, timeout_ms).await;
    let elapsed = (now_ms() - started).max(0.0) as u64;
    let result = span.in_scope(|| match outcome {
        Outcome::TimedOut => step_spans::timed_out(event.step_uuid, elapsed),
        Outcome::Completed(c) => step_spans::record_completion(c, ids.as_ref(), "wasm", elapsed),
    });
    span.in_scope(|| tracing::info!(success = result.success, "step.execution_completed"));
    result
}

/// Runs a task to its end under a `worker.task_execution` root span: one trace per task.
pub(crate) async fn drive(
    template: TaskTemplate,
    context: Value,
    concurrency: usize,
    default_timeout: std::time::Duration,
) -> Result<Value, WasmError> {
    let (task_uuid, correlation_id) = (
        tasker_shared::ids::new_uuid(),
        tasker_shared::ids::new_uuid(),
    );
    let root = step_spans::task_span(&template, task_uuid, correlation_id);
    let root_ids = trace_context::span_ids(&root);
    let mut task = Task::new(template, context, task_uuid, correlation_id)?
        .with_traceparent(root_ids.as_ref().map(|i| i.traceparent.clone()));
    root.in_scope(|| tracing::info!("task.started"));

    let mut waiting: VecDeque<ReadyStep> = VecDeque::new();
    let mut running = FuturesUnordered::new();
    let mut actions = task.start();
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Dispatch(ready) => waiting.push_back(*ready),
                Action::Finished(o) => {
                    root.in_scope(|| tracing::info!(status = ?o.status, "task.completed"));
                    return Ok(json!({
                        "status": o.status,
                        "taskUuid": o.task_uuid,
                        "correlationId": o.correlation_id,
                        "traceId": root_ids.as_ref().map(|i| i.trace_id.clone()),
                        "stepResults": o.step_results,
                        "steps": o.steps,
                    }));
                }
            }
        }
        while running.len() < concurrency.max(1) {
            let Some(ready) = waiting.pop_front() else {
                break;
            };
            running.push(run_step(ready, default_timeout));
        }
        let Some(result) = running.next().await else {
            return Err(WasmError::new(
                "INTERNAL",
                format!("task {task_uuid} has no step running and did not finish"),
            ));
        };
        actions = task
            .on_result(result)
            .map_err(tasker_shared::TaskerError::from)?;
    }
}
