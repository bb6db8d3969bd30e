//! The task driver every runtime shares: it runs the sans-IO [`Task`] machine to its end,
//! running each ready step through a function the runtime supplies, at most `concurrency`
//! at once, under a `worker.task_execution` root span, so a task is one trace.
//!
//! **Why one driver.** The Tokio worker (its steps go through the command processor and the
//! event bridge to host threads) and the wasm worker (its steps are promises on the JS event
//! loop) differ only in how one step runs. Everything else (the root span, the order of
//! dispatches, the concurrency bound, finishing) is this function, once; it needs neither
//! Tokio nor threads, so it runs on wasm32.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::Instrument;
use uuid::Uuid;

use crate::types::StepExecutionResult;
use crate::workflow::{Action, ReadyStep, StepRecord, Task, TaskOutcome, TaskStatus, TaskTemplate};
use crate::{TaskerError, TaskerResult, step_spans, trace_context};

/// The result of a task, as hosts receive it.
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

/// Runs one task to its end: `run` runs a ready step and returns its result; at most
/// `concurrency` of the task's steps run at once (the rest wait, in dispatch order).
pub async fn drive<F, Fut>(
    template: TaskTemplate,
    context: Value,
    (task_uuid, correlation_id): (Uuid, Uuid),
    concurrency: usize,
    run: F,
) -> TaskerResult<TaskResult>
where
    F: Fn(ReadyStep) -> Fut,
    Fut: Future<Output = StepExecutionResult>,
{
    let root = step_spans::task_span(&template, task_uuid, correlation_id);
    let root_ids = trace_context::span_ids(&root);
    let trace_id = root_ids.as_ref().map(|i| i.trace_id.clone());
    let mut task = Task::new(template, context, task_uuid, correlation_id)?
        .with_traceparent(root_ids.map(|i| i.traceparent));

    async move {
        tracing::info!("task.started");
        let mut waiting: VecDeque<ReadyStep> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        let mut actions = task.start();
        loop {
            for action in actions.drain(..) {
                match action {
                    Action::Dispatch(ready) => waiting.push_back(*ready),
                    Action::Finished(outcome) => {
                        tracing::info!(status = ?outcome.status, "task.completed");
                        return Ok(TaskResult::new(outcome, trace_id));
                    }
                }
            }
            while running.len() < concurrency.max(1) {
                let Some(ready) = waiting.pop_front() else {
                    break;
                };
                running.push(run(ready));
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
