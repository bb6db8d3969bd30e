//! The embedded default: a bounded in-memory step queue, the command-processor loop that
//! drains it, and the task driver that runs the sans-IO workflow machine over it.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tasker_shared::trace_context;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{
    Action, ReadyStep, StepRecord, Task, TaskOutcome, TaskStatus, TaskTemplate,
};
use tasker_shared::{TaskerError, TaskerResult};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{Instrument, info_span};
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

/// One step in the queue, with where its result goes.
pub(crate) struct QueuedStep {
    pub(crate) ready: ReadyStep,
    pub(crate) reply: oneshot::Sender<StepExecutionResult>,
}

/// Drains the step queue: each step is processed on its own task, at most `limit` at once,
/// so a burst of ready steps never holds more than the queue's bound in memory.
pub(crate) async fn processor_loop(
    mut queue: mpsc::Receiver<QueuedStep>,
    processor: Arc<CommandProcessor>,
    limit: usize,
) {
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    while let Some(step) = queue.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let processor = processor.clone();
        tokio::spawn(async move {
            let step_uuid = step.ready.message.step_uuid;
            let result = AssertUnwindSafe(processor.handle_execute_step(step.ready))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    StepExecutionResult::failure(
                        step_uuid,
                        format!(
                            "internal error while processing the step: {}",
                            tasker_shared::panic_message(&*panic)
                        ),
                        "internal_error",
                        false,
                        0,
                    )
                });
            let _ = step.reply.send(result);
            drop(permit);
        });
    }
}

/// Runs one task to its end under a `worker.task_execution` root span: every step of the
/// task is a descendant of it, so the task is one trace.
pub(crate) async fn drive(
    queue: mpsc::Sender<QueuedStep>,
    template: TaskTemplate,
    context: Value,
    task_uuid: Uuid,
    correlation_id: Uuid,
) -> TaskerResult<TaskResult> {
    let root = info_span!(
        "worker.task_execution",
        task_uuid = %task_uuid,
        correlation_id = %correlation_id,
        namespace = %template.namespace,
        task_name = %template.name,
        version = %template.version,
    );
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
                        let (reply, result) = oneshot::channel();
                        let step_uuid = ready.message.step_uuid;
                        queue
                            .send(QueuedStep {
                                ready: *ready,
                                reply,
                            })
                            .await
                            .map_err(|_| TaskerError::Stopped)?;
                        running.push(async move { (step_uuid, result.await) });
                    }
                    Action::Finished(outcome) => {
                        tracing::info!(status = ?outcome.status, "task.completed");
                        return Ok(TaskResult::new(outcome, trace_id));
                    }
                }
            }
            let Some((step_uuid, result)) = running.next().await else {
                return Err(TaskerError::Internal(format!(
                    "task {task_uuid} has no step running and did not finish"
                )));
            };
            let result = result.unwrap_or_else(|_| {
                StepExecutionResult::failure(
                    step_uuid,
                    "the worker stopped before the step completed",
                    "worker_stopped",
                    false,
                    0,
                )
            });
            actions = task.on_result(result)?;
        }
    }
    .instrument(root)
    .await
}
