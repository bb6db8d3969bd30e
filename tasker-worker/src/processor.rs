//! The command processor: runs one ready step through the bridge inside its
//! `worker.step_execution` span, and hands back the step's result.

use std::sync::Arc;
use std::time::Duration;

use tasker_shared::step_spans;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::ReadyStep;
use tracing::Instrument;

use crate::bridge::EventBridge;
use crate::metrics::WorkerMetrics;
use crate::subscriber;

/// Shared by every step of a worker.
#[derive(Debug)]
pub struct CommandProcessor {
    bridge: Arc<EventBridge>,
    metrics: WorkerMetrics,
    language: String,
    worker_id: String,
    default_timeout: Duration,
}

impl CommandProcessor {
    pub(crate) fn new(
        bridge: Arc<EventBridge>,
        language: String,
        worker_id: String,
        default_timeout: Duration,
    ) -> Self {
        Self {
            bridge,
            metrics: WorkerMetrics::new(),
            language,
            worker_id,
            default_timeout,
        }
    }

    /// Opens `worker.step_execution` (the spec's five attributes) under the task's root
    /// context, emits `step.execution_started`, dispatches a `StepExecutionEvent` carrying the
    /// span's real ids, waits for the outcome, and emits `step.execution_completed`.
    pub async fn handle_execute_step(&self, ready: ReadyStep) -> StepExecutionResult {
        let (span, ids) = step_spans::execution_span(&ready);
        let seq = &ready.sequence;
        let timeout =
            tasker_shared::host::step_timeout(seq.workflow_step.timeout_ms, self.default_timeout);
        let namespace = seq.task.namespace_name.clone();
        let event = step_spans::execution_event(ready, ids.as_ref(), timeout);

        async move {
            tracing::info!("step.execution_started");
            self.metrics.dispatched(&namespace, &self.language);
            let result = match self.bridge.dispatch(event.clone(), timeout).await {
                Ok(pending) => {
                    tracing::debug!(
                        trace_id = ?event.trace_id,
                        span_id = ?event.span_id,
                        "Step execution event with trace context fired successfully to FFI handlers"
                    );
                    let outcome = pending.outcome().await;
                    subscriber::handle_outcome(
                        outcome,
                        &event,
                        ids.as_ref(),
                        &self.language,
                        &self.worker_id,
                    )
                }
                Err(e) => StepExecutionResult::failure(
                    event.step_uuid,
                    format!("the step could not be dispatched: {e}"),
                    tasker_shared::host::error_types::WORKER_STOPPED,
                    true,
                    0,
                )
                .with_worker_id(&self.worker_id),
            };
            let status = if result.success { "success" } else { "failure" };
            self.metrics.completed(
                &namespace,
                &self.language,
                status,
                result.metadata.execution_time_ms as f64,
            );
            tracing::info!(success = result.success, "step.execution_completed");
            result
        }
        .instrument(span)
        .await
    }
}
