//! The event subscriber: turns what came back across the bridge into a step result, inside
//! a `worker.step_completion_received` span that joins the step's trace.
//!
//! The host returns trace ids as opaque strings. When they are valid, the completion span's
//! parent is the span they name (the execution span, or a child span the host made), and it
//! carries a Link to the execution span either way. When they are missing or malformed, the
//! spec's fallback span is used: same name, no trace fields, nested under the execution span.

use std::time::Duration;

use serde_json::{Map, Value};
use tasker_shared::trace_context::{self, TraceIds, TraceParent};
use tasker_shared::types::{
    StepExecutionCompletionEvent, StepExecutionEvent, StepExecutionMetadata, StepExecutionResult,
};
use tracing::{Level, info_span};

use crate::bridge::BridgeOutcome;

/// Builds the step result for one bridge outcome, recording the completion span and events.
pub(crate) fn handle_outcome(
    outcome: BridgeOutcome,
    event: &StepExecutionEvent,
    exec: Option<&TraceIds>,
    language: &str,
    worker_id: &str,
) -> StepExecutionResult {
    let step_uuid = event.step_uuid;
    match outcome {
        BridgeOutcome::Completed {
            completion,
            elapsed,
        } => handle_completion(completion, exec, language, elapsed).with_worker_id(worker_id),
        BridgeOutcome::TimedOut { after } => {
            let ms = millis(after);
            tracing::warn!(timeout_ms = ms, "step.execution_timed_out");
            StepExecutionResult::failure(
                step_uuid,
                format!("handler timed out after {ms} ms"),
                "timeout",
                true,
                ms,
            )
            .with_worker_id(worker_id)
        }
        BridgeOutcome::Stopped => {
            tracing::warn!("step.execution_abandoned");
            StepExecutionResult::failure(
                step_uuid,
                "the worker stopped before the step completed",
                "worker_stopped",
                true,
                0,
            )
            .with_worker_id(worker_id)
        }
    }
}

/// Records `worker.step_completion_received` and converts the completion.
pub(crate) fn handle_completion(
    completion: StepExecutionCompletionEvent,
    exec: Option<&TraceIds>,
    language: &str,
    elapsed: Duration,
) -> StepExecutionResult {
    let returned = match (&completion.trace_id, &completion.span_id) {
        (Some(t), Some(s)) => match trace_context::parent_context(t, s) {
            Ok(cx) => Some((t.as_str(), s.as_str(), cx)),
            Err(e) => {
                tracing::warn!(error = %e, "completion carried malformed trace ids; using the fallback span");
                None
            }
        },
        _ => None,
    };
    let span = match &returned {
        Some((trace_id, span_id, _)) => info_span!(
            "worker.step_completion_received",
            trace_id = %trace_id,
            span_id = %span_id,
            event_id = %completion.event_id,
            task_uuid = %completion.task_uuid,
            step_uuid = %completion.step_uuid,
            success = completion.success
        ),
        None => info_span!(
            "worker.step_completion_received",
            event_id = %completion.event_id,
            task_uuid = %completion.task_uuid,
            step_uuid = %completion.step_uuid,
            success = completion.success
        ),
    };
    if let Some((_, _, cx)) = returned {
        let _ = trace_context::set_parent(&span, cx);
    }
    if let Some(tp) = exec.and_then(|ids| TraceParent::parse(&ids.traceparent).ok()) {
        trace_context::add_link(&span, tp.to_span_context());
    }
    let ms = millis(elapsed);
    let event_name = format!("step.{language}_execution_completed");
    span.in_scope(|| {
        if completion.success {
            tracing::event!(
                Level::INFO,
                success = true,
                duration_ms = ms,
                "{event_name}"
            );
        } else {
            tracing::event!(
                Level::WARN,
                success = false,
                duration_ms = ms,
                error = completion.error_message.as_deref().unwrap_or(""),
                "{event_name}"
            );
        }
    });
    into_result(completion, ms)
}

fn into_result(c: StepExecutionCompletionEvent, measured_ms: u64) -> StepExecutionResult {
    let mut custom = match c.metadata {
        Some(Value::Object(m)) => m,
        Some(other) => Map::from_iter([("metadata".to_owned(), other)]),
        None => Map::new(),
    };
    let error_type = custom
        .remove("error_type")
        .and_then(|v| v.as_str().map(str::to_owned));
    let retryable = custom
        .remove("retryable")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let execution_time_ms = custom
        .remove("execution_time_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(measured_ms);
    let error_message = (!c.success).then(|| {
        c.error_message
            .clone()
            .unwrap_or_else(|| "the handler reported failure without a message".to_owned())
    });
    StepExecutionResult {
        step_uuid: c.step_uuid,
        success: c.success,
        result: if c.success {
            c.result.unwrap_or(Value::Null)
        } else {
            Value::Null
        },
        error_message,
        metadata: StepExecutionMetadata {
            execution_time_ms,
            error_type: if c.success {
                None
            } else {
                error_type.or_else(|| Some("handler_error".to_owned()))
            },
            retryable,
            worker_id: None,
            custom,
        },
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
