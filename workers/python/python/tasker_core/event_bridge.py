"""Shapes the step events the Rust worker sends. The trace context rides along as opaque
strings, exposed at the top level like correlation_id (TAS-65)."""

from __future__ import annotations

from typing import Any, Dict

from .types import StepContext

__all__ = ["wrap_step_execution_event", "step_context"]


def wrap_step_execution_event(event_data: Dict[str, Any]) -> Dict[str, Any]:
    wrapped: Dict[str, Any] = {
        "event_id": event_data["event_id"],
        "task_uuid": event_data["task_uuid"],
        "step_uuid": event_data["step_uuid"],
        "task_sequence_step": event_data["task_sequence_step"],
        # The handler's time: the step's timeout_ms, else the worker's (the core decides).
        "timeout_ms": event_data["timeout_ms"],
    }
    if "correlation_id" in event_data:
        wrapped["correlation_id"] = event_data["correlation_id"]
    # TAS-65: propagate trace context as opaque strings
    if "trace_id" in event_data:
        wrapped["trace_id"] = event_data["trace_id"]
    if "span_id" in event_data:
        wrapped["span_id"] = event_data["span_id"]
    if "traceparent" in event_data:
        wrapped["traceparent"] = event_data["traceparent"]
    return wrapped


def step_context(wrapped: Dict[str, Any]) -> StepContext:
    """The handler's view of a wrapped event."""
    seq = wrapped["task_sequence_step"]
    task, step = seq["task"], seq["workflow_step"]
    return StepContext(
        task_uuid=wrapped["task_uuid"],
        step_uuid=wrapped["step_uuid"],
        step_name=step["name"],
        namespace=task["namespace_name"],
        correlation_id=wrapped.get("correlation_id", ""),
        trace_id=wrapped.get("trace_id"),
        span_id=wrapped.get("span_id"),
        traceparent=wrapped.get("traceparent"),
        input=task.get("context") or {},
        dependency_results=seq.get("dependency_results") or {},
        attempt=step.get("attempt", 1),
        task_name=task.get("task_name", ""),
    )
