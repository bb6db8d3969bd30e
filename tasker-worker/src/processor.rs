//! The command processor: runs one ready step through the bridge inside its
//! `worker.step_execution` span, and hands back the step's result.

use std::sync::Arc;
use std::time::Duration;

use tasker_shared::trace_context;
use tasker_shared::types::{StepExecutionEvent, StepExecutionResult};
use tasker_shared::workflow::ReadyStep;
use tracing::{Instrument, info_span};
use uuid::Uuid;

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
        let seq = &ready.sequence;
        let span = info_span!(
            "worker.step_execution",
            correlation_id = %seq.task.correlation_id,
            task_uuid = %seq.task.task_uuid,
            step_uuid = %seq.workflow_step.step_uuid,
            step_name = %seq.workflow_step.name,
            namespace = %seq.task.namespace_name,
            attempt = seq.workflow_step.attempt,
            handler = %seq.workflow_step.handler,
        );
        if let Some(tp) = &ready.message.traceparent {
            match trace_context::parent_from_traceparent(tp) {
                Ok(cx) => {
                    let _ = trace_context::set_parent(&span, cx);
                }
                Err(e) => tracing::warn!(error = %e, "step message has a malformed traceparent"),
            }
        }
        let ids = trace_context::span_ids(&span);
        let timeout = seq
            .workflow_step
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.default_timeout);
        let namespace = seq.task.namespace_name.clone();
        let event = StepExecutionEvent {
            event_id: Uuid::new_v4(),
            task_uuid: seq.task.task_uuid,
            step_uuid: seq.workflow_step.step_uuid,
            correlation_id: seq.task.correlation_id,
            parent_correlation_id: None,
            trace_id: ids.as_ref().map(|i| i.trace_id.clone()),
            span_id: ids.as_ref().map(|i| i.span_id.clone()),
            traceparent: ids.as_ref().map(|i| i.traceparent.clone()),
            task_sequence_step: ready.sequence,
        };

        async move {
            tracing::info!("step.execution_started");
            self.metrics.dispatched(&namespace, &self.language);
            let result = match self.bridge.dispatch(event.clone()).await {
                Ok(pending) => {
                    tracing::debug!(
                        trace_id = ?event.trace_id,
                        span_id = ?event.span_id,
                        "Step execution event with trace context fired successfully to FFI handlers"
                    );
                    let outcome = pending.outcome(&self.bridge, event.event_id, timeout).await;
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
                    "worker_stopped",
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
