//! The native host: Rust tasks that take events from the bridge, run the registered handler,
//! and complete the step. The same bridge path the Ruby and Python hosts use.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::{Value, json};
use tasker_shared::TaskerResult;
use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::{TaskResult, Worker, WorkerConfig};

use crate::handler::{HandlerRegistry, StepContext, StepError};

/// A worker whose handlers are Rust.
#[derive(Debug, Clone)]
pub struct RustWorker {
    worker: Worker,
    registry: Arc<HandlerRegistry>,
}

impl RustWorker {
    /// Starts a worker (its own runtime, phase-2 telemetry) and `config.concurrency` host
    /// tasks serving `registry`.
    pub fn start(config: WorkerConfig, registry: HandlerRegistry) -> TaskerResult<Self> {
        Self::serve(Worker::start(config)?, registry)
    }

    /// Serves `registry` on an already started worker.
    pub fn serve(worker: Worker, registry: HandlerRegistry) -> TaskerResult<Self> {
        for name in registry.names() {
            worker.register_handler(name)?;
        }
        let registry = Arc::new(registry);
        for _ in 0..worker.config().concurrency {
            let (worker, registry) = (worker.clone(), registry.clone());
            worker.runtime_handle().clone().spawn(async move {
                while let Ok(event) = worker.bridge().recv().await {
                    if let Some(c) = run_one(&registry, &event).await {
                        deliver(&worker, &event, c);
                    }
                }
            });
        }
        Ok(Self { worker, registry })
    }

    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Runs a task to its end, blocking. The calling thread drives the task and runs the
    /// handlers of the steps it takes itself, so a step crosses no thread; the worker's host
    /// tasks run the rest. From a runtime thread (where blocking is not allowed) the task runs
    /// on the runtime instead.
    pub fn run_task(
        &self,
        template: TaskTemplate,
        context: Value,
        timeout: Option<Duration>,
    ) -> TaskerResult<TaskResult> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return self.worker.run_task(template, context, timeout);
        }
        let mut run = self.worker.start_task(template, context)?;
        let handle = self.worker.runtime_handle().clone();
        run.run_serving(timeout, |event| {
            // `stop` shutting the runtime down under the handler makes Tokio's timer panic:
            // the step is then the worker's to end (as stopped), not a panic for the caller.
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
                handle.block_on(run_one(&self.registry, &event))
            }));
            if let Ok(Some(c)) = ran {
                deliver(&self.worker, &event, c);
            }
        })
    }

    /// Stops the worker gracefully and flushes telemetry; see [`Worker::stop`] for what the
    /// report holds.
    pub fn stop(&self) -> TaskerResult<tasker_shared::logging::TelemetryReport> {
        self.worker.stop()
    }
}

fn deliver(worker: &Worker, event: &StepExecutionEvent, completion: StepExecutionCompletionEvent) {
    if let Err(e) = worker.bridge().complete(event.event_id, completion) {
        tracing::warn!(error = %e, "completion refused");
    }
}

/// Runs one handler. `None` when it outlived the step's timeout: the worker already failed
/// the step, and a late completion would be refused.
async fn run_one(
    registry: &HandlerRegistry,
    event: &StepExecutionEvent,
) -> Option<StepExecutionCompletionEvent> {
    let step = &event.task_sequence_step.workflow_step;
    let timeout = Duration::from_millis(event.timeout_ms);
    let outcome = match registry.get(&step.handler) {
        None => Err(StepError::permanent(format!(
            "no Rust handler registered as {:?}",
            step.handler
        ))
        .with_type(tasker_shared::host::error_types::UNKNOWN_HANDLER)),
        Some(handler) => {
            let call =
                AssertUnwindSafe(handler.call_boxed(StepContext::from_event(event))).catch_unwind();
            match tokio::time::timeout(timeout, call).await {
                Err(_) => return None,
                Ok(Ok(result)) => result,
                Ok(Err(panic)) => Err(StepError::retryable(format!(
                    "handler panicked: {}",
                    tasker_shared::panic_message(&*panic)
                ))
                .with_type("panic")),
            }
        }
    };
    let mut completion = StepExecutionCompletionEvent::for_event(event, outcome.is_ok());
    match outcome {
        Ok(value) => completion.result = Some(value),
        Err(e) => {
            completion.error_message = Some(e.message);
            completion.metadata =
                Some(json!({"error_type": e.error_type, "retryable": e.retryable}));
        }
    }
    Some(completion)
}
