//! The JS event loop's side of the shared task driver: a step is a promise (its handler,
//! with a timeout), and up to `concurrency` of a task's steps are in flight at once.

use serde_json::{Value, json};
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{ReadyStep, TaskTemplate};
use tasker_shared::{step_spans, time};

use crate::bridge::{self, Outcome};
use crate::errors::WasmError;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// One step: execution span, the handler, the completion span. What is recorded before the
/// handler is called, and what after it returns, each happen at one instant
/// (`time::at_one_instant`): the handler itself runs outside both.
async fn run_step(ready: ReadyStep, default_timeout: std::time::Duration) -> StepExecutionResult {
    let (span, ids, event) = time::at_one_instant(|| {
        let (span, ids) = step_spans::execution_span(&ready);
        let timeout = tasker_shared::host::step_timeout(
            ready.sequence.workflow_step.timeout_ms,
            default_timeout,
        );
        span.in_scope(|| tracing::info!("step.execution_started"));
        let event = step_spans::execution_event(ready, ids.as_ref(), timeout);
        (span, ids, event)
    });
    let timeout_ms = event.timeout_ms as f64;
    let started = now_ms();
    let outcome = bridge::call(&event, timeout_ms).await;
    let elapsed = (now_ms() - started).max(0.0) as u64;
    let result = time::at_one_instant(|| {
        let result = span.in_scope(|| match outcome {
            Outcome::TimedOut => step_spans::timed_out(event.step_uuid, elapsed),
            Outcome::Completed(c) => {
                step_spans::record_completion(c, ids.as_ref(), "wasm", elapsed)
            }
        });
        span.in_scope(|| tracing::info!(success = result.success, "step.execution_completed"));
        // The execution span ends with the step, not after the yield below.
        drop(span);
        result
    });
    // A task of thousands of steps never waits on I/O by itself: let the sends in flight move.
    crate::exporter::let_sends_move().await;
    result
}

/// Runs a task to its end on the shared driver (`tasker_shared::driver`), with up to
/// `concurrency` of its steps in flight as promises; the result in JS's camelCase shape.
pub(crate) async fn drive(
    template: TaskTemplate,
    context: Value,
    concurrency: usize,
    default_timeout: std::time::Duration,
) -> Result<Value, WasmError> {
    let ids = (
        tasker_shared::ids::new_uuid(),
        tasker_shared::ids::new_uuid(),
    );
    let r = tasker_shared::driver::drive(template, context, ids, concurrency, |ready| {
        run_step(ready, default_timeout)
    })
    .await?;
    Ok(json!({
        "status": r.status,
        "taskUuid": r.task_uuid,
        "correlationId": r.correlation_id,
        "traceId": r.trace_id,
        "stepResults": r.step_results,
        "steps": r.steps,
    }))
}
