//! The Tokio side of the shared task driver (`tasker_shared::driver`): each ready step goes
//! through the command processor, at most `dispatch_buffer` steps at once across the worker.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;
use tasker_shared::TaskerResult;
use tasker_shared::step_spans;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{ReadyStep, TaskTemplate};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::processor::CommandProcessor;

pub use tasker_shared::driver::TaskResult;

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

/// Runs one task to its end (`tasker_shared::driver`), each step through the command
/// processor. The task itself puts no bound on its steps: the worker-wide permits do.
pub(crate) async fn drive(
    steps: Steps,
    template: TaskTemplate,
    context: Value,
    task_uuid: Uuid,
    correlation_id: Uuid,
) -> TaskerResult<TaskResult> {
    let steps = &steps;
    tasker_shared::driver::drive(
        template,
        context,
        (task_uuid, correlation_id),
        usize::MAX,
        move |ready| steps.process(ready),
    )
    .await
}
