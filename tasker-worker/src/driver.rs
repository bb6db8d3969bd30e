//! The task driver: runs the sans-IO workflow machine, processing each ready step through
//! the command processor, at most `dispatch_buffer` steps at once across the worker.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{
    Action, ReadyStep, StepRecord, Task, TaskOutcome, TaskStatus, TaskTemplate,
};
use tasker_shared::{TaskerError, TaskerResult};
use tasker_shared::{step_spans, trace_context};
use tokio::sync::Semaphore;
use tracing::Instrument;
use uuid::Uuid;

use crate::processor::CommandProcessor;

/// The result of `run_task`, as hosts receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// `complete` when every step completed, else `error`.
    pub status: TaskStatus,
    pub task_uuid: Uuid,
    pub correlation_id: Uuid,
    /// The task's one trace.
    pub trace_id: Option<String>,
    /// Results of completed steps, by name.
    pub step_results: Map<String, Value>,
    /// Every step's record (status, attempts, error), by name.
    pub steps: BTreeMap<String, StepRecord>,
}

impl TaskResult {
    fn new(o: TaskOutcome, trace_id: Option<String>) -> Self {
        Self {
            status: o.status,
            task_uuid: o.task_uuid,
            correlation_id: o.correlation_id,
            trace_id,
            step_results: o.step_results,
            steps: o.steps,
        }
    }

    /// Whether every step completed.
    pub fn is_complete(&self) -> bool {
        self.status == TaskStatus::Complete
    }
}

/// What every task of a worker shares: the command processor, and the permits that bound
/// how many steps are being processed at once across all tasks (`dispatch_buffer`).
#[derive(Debug, Clone)]
pub(crate) struct Steps {
    pub(crate) processor: Arc<CommandProcessor>,
    pub(crate) permits: Arc<Semaphore>,
}

impl Steps {
    pub(crate) fn new(processor: Arc<CommandProcessor>, limit: usize) -> Self {
        Self {
            processor,
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Processes one step on the driver's own task. There is no queue and no spawned task
    /// between the driver and the bridge: every such hop is a thread wake-up, and a wake-up
    /// costs more than all the work a no-op step does. A permit, not a channel, bounds the
    /// steps in flight; a panic in processing fails the step instead of losing it.
    pub(crate) async fn process(&self, ready: ReadyStep) -> StepExecutionResult {
        let step_uuid = ready.message.step_uuid;
        let Ok(_permit) = self.permits.acquire().await else {
            return step_spans::abandoned(step_uuid);
        };
        AssertUnwindSafe(self.processor.handle_execute_step(ready))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                StepExecutionResult::failure(
                    step_uuid,
                    format!(
                        "internal error while processing the step: {}",
                        tasker_shared::panic_message(&*panic)
                    ),
                    tasker_shared::host::error_types::INTERNAL_ERROR,
                    false,
                    0,
                )
            })
    }
}

/// Runs one task to its end under a `worker.task_execution` root span: every step of the
/// task is a descendant of it, so the task is one trace.
pub(crate) async fn drive(
    steps: Steps,
    template: TaskTemplate,
    context: Value,
    task_uuid: Uuid,
    correlation_id: Uuid,
) -> TaskerResult<TaskResult> {
    let root = step_spans::task_span(&template, task_uuid, correlation_id);
    let root_ids = trace_context::span_ids(&root);
    let trace_id = root_ids.as_ref().map(|i| i.trace_id.clone());
    let mut task = Task::new(template, context, task_uuid, correlation_id)?
        .with_traceparent(root_ids.map(|i| i.traceparent));

    async move {
        tracing::info!("task.started");
        let mut running = FuturesUnordered::new();
        let mut actions = task.start();
        loop {
            for action in actions.drain(..) {
                match action {
                    Action::Dispatch(ready) => {
                        let steps = &steps;
                        running.push(async move { steps.process(*ready).await });
                    }
                    Action::Finished(outcome) => {
                        tracing::info!(status = ?outcome.status, "task.completed");
                        return Ok(TaskResult::new(outcome, trace_id));
                    }
                }
            }
            let Some(result) = running.next().await else {
                return Err(TaskerError::Internal(format!(
                    "task {task_uuid} has no step running and did not finish"
                )));
            };
            actions = task.on_result(result)?;
        }
    }
    .instrument(root)
    .await
}
