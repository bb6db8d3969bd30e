//! The spans of one step, shared by every driver of the workflow machine (the Tokio worker
//! and the JS event loop): `worker.step_execution` with the spec's five attributes, the
//! `StepExecutionEvent` carrying its real ids, and `worker.step_completion_received`, a child
//! of the context the host returned with a Link back to the execution span.
//!
//! The host returns trace ids as opaque strings. When they are valid, the completion span's
//! parent is the span they name (the execution span, or a child span the host made). When
//! they are missing or malformed, the spec's fallback span is used: same name, no trace
//! fields, nested under the execution span (the current span when it is recorded).

use crate::error_types;
use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::{Level, Span, info_span};
use uuid::Uuid;

use crate::trace_context::{self, TraceIds, TraceParent};
use crate::types::{
    StepExecutionCompletionEvent, StepExecutionEvent, StepExecutionMetadata, StepExecutionResult,
};
use crate::workflow::{ReadyStep, TaskTemplate};

/// The task's root span, `worker.task_execution`: every step of the task descends from it,
/// so the task is one trace.
pub fn task_span(template: &TaskTemplate, task_uuid: Uuid, correlation_id: Uuid) -> Span {
    info_span!(
        "worker.task_execution",
        task_uuid = %task_uuid,
        correlation_id = %correlation_id,
        namespace = %template.namespace,
        task_name = %template.name,
        version = %template.version,
    )
}

/// Opens `worker.step_execution` for a ready step, as a child of the task's root context
/// (the message's traceparent), and returns it with its real ids.
pub fn execution_span(ready: &ReadyStep) -> (Span, Option<TraceIds>) {
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
    if let Some(tp) = ready
        .message
        .previous_traceparent
        .as_deref()
        .and_then(|tp| TraceParent::parse(tp).ok())
    {
        // A retry: the attempt before it, in whichever process ran it.
        trace_context::add_link(&span, tp.to_span_context());
    }
    let ids = trace_context::span_ids(&span);
    (span, ids)
}

/// The event a host receives: the step, and the execution span's ids.
pub fn execution_event(
    ready: ReadyStep,
    ids: Option<&TraceIds>,
    timeout: std::time::Duration,
) -> StepExecutionEvent {
    let seq = ready.sequence;
    StepExecutionEvent {
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        event_id: crate::ids::new_uuid(),
        task_uuid: seq.task.task_uuid,
        step_uuid: seq.workflow_step.step_uuid,
        correlation_id: seq.task.correlation_id,
        parent_correlation_id: None,
        trace_id: ids.map(|i| i.trace_id.clone()),
        span_id: ids.map(|i| i.span_id.clone()),
        traceparent: ids.map(|i| i.traceparent.clone()),
        task_sequence_step: seq,
    }
}

/// A step whose handler did not complete within `ms`.
pub fn timed_out(step_uuid: Uuid, ms: u64) -> StepExecutionResult {
    tracing::warn!(timeout_ms = ms, "step.execution_timed_out");
    StepExecutionResult::failure(
        step_uuid,
        format!("handler timed out after {ms} ms"),
        error_types::TIMEOUT,
        true,
        ms,
    )
}

/// A step abandoned because the worker stopped.
pub fn abandoned(step_uuid: Uuid) -> StepExecutionResult {
    tracing::warn!("step.execution_abandoned");
    StepExecutionResult::failure(
        step_uuid,
        "the worker stopped before the step completed",
        error_types::WORKER_STOPPED,
        true,
        0,
    )
}

/// Records `worker.step_completion_received` and converts the completion.
pub fn record_completion(
    completion: StepExecutionCompletionEvent,
    exec: Option<&TraceIds>,
    language: &str,
    elapsed_ms: u64,
) -> StepExecutionResult {
    let exec_tp = exec.and_then(|ids| TraceParent::parse(&ids.traceparent).ok());
    let mut foreign = None;
    let returned = match (&completion.trace_id, &completion.span_id) {
        (Some(t), Some(s)) => match trace_context::remote_span_context(t, s) {
            // Ids from another trace (a host span that started a trace of its own): the
            // completion stays in the task's trace, under the execution span, and links to
            // the foreign span instead of moving the step out of its task's trace.
            Ok(sc) if exec_tp.is_some_and(|tp| tp.trace_id != sc.trace_id()) => {
                tracing::debug!(
                    returned_trace_id = %t,
                    "completion carried a foreign trace id; keeping it in the task's trace with a link"
                );
                foreign = Some(sc);
                exec.map(|ids| {
                    (
                        ids.trace_id.as_str(),
                        ids.span_id.as_str(),
                        exec_context(exec_tp),
                    )
                })
            }
            Ok(sc) => Some((
                t.as_str(),
                s.as_str(),
                opentelemetry::Context::new().with_remote_span_context(sc),
            )),
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
    if let Some(tp) = exec_tp {
        trace_context::add_link(&span, tp.to_span_context());
    }
    if let Some(sc) = foreign {
        trace_context::add_link(&span, sc);
    }
    let ms = elapsed_ms;
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

fn exec_context(tp: Option<TraceParent>) -> opentelemetry::Context {
    tp.map_or_else(opentelemetry::Context::new, |tp| tp.to_context())
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
                error_type.or_else(|| Some(error_types::HANDLER_ERROR.to_owned()))
            },
            retryable,
            worker_id: None,
            execution_traceparent: None,
            custom,
        },
    }
}
