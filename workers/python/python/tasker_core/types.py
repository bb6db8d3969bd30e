"""The values handlers receive and return, and the result of a task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

__all__ = ["StepContext", "StepResult", "TaskResult", "TelemetryReport"]


@dataclass(frozen=True)
class StepContext:
    """What a handler gets for one step."""

    task_uuid: str
    step_uuid: str
    step_name: str
    namespace: str
    correlation_id: str
    #: 32 hex digits: the step's trace.
    trace_id: Optional[str]
    #: 16 hex digits: the worker's execution span for this step.
    span_id: Optional[str]
    #: W3C traceparent of that span.
    traceparent: Optional[str]
    #: The task's input context.
    input: Dict[str, Any]
    #: Results of the steps this one depends on, by step name.
    dependency_results: Dict[str, Any]
    #: 1 for the first try.
    attempt: int = 1
    task_name: str = ""


@dataclass(frozen=True)
class StepResult:
    """What a handler returns: build it with :meth:`StepHandler.success` or
    :meth:`StepHandler.failure`."""

    success: bool
    result: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error_message: Optional[str] = None
    error_type: Optional[str] = None
    retryable: bool = True


@dataclass(frozen=True)
class TaskResult:
    """The result of :meth:`Worker.run_task`."""

    #: ``"complete"`` when every step completed, else ``"error"`` (``"running"`` from
    #: :meth:`Client.task_status` while it runs).
    status: str
    task_uuid: str
    correlation_id: str
    #: The task's one trace.
    trace_id: Optional[str]
    #: Results of completed steps, by name.
    step_results: Dict[str, Any]
    #: Every step's record: status, attempts, result, error, error_type, execution_time_ms.
    steps: Dict[str, Dict[str, Any]]

    @property
    def is_complete(self) -> bool:
        return self.status == "complete"

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> "TaskResult":
        return cls(
            status=d["status"],
            task_uuid=d["task_uuid"],
            correlation_id=d["correlation_id"],
            trace_id=d.get("trace_id"),
            step_results=d["step_results"],
            steps=d["steps"],
        )


@dataclass(frozen=True)
class TelemetryReport:
    """What :meth:`Worker.stop` and :func:`tasker_core.flush_telemetry` did with the spans.

    Telemetry never fails a stop: spans a collector did not take are counted here, their
    reason is in :attr:`error`, and one WARN line says the same. Pass
    ``raise_on_telemetry_error=True`` to raise :class:`TelemetryError` instead."""

    #: Spans the collector accepted, since the process started.
    spans_exported: int
    #: Spans whose export failed (collector down, refused, timed out), since the process started.
    spans_failed: int
    #: Spans dropped because the export queue was full (a collector that could not keep up).
    spans_dropped: int
    #: Spans dropped from the pre-bootstrap buffer because it was full.
    spans_dropped_before_bootstrap: int
    #: Why spans were lost since the previous report; None when none were.
    error: Optional[str]

    @property
    def complete(self) -> bool:
        """Whether everything since the previous report reached the collector."""
        return self.error is None

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> "TelemetryReport":
        return cls(
            spans_exported=d["spans_exported"],
            spans_failed=d["spans_failed"],
            spans_dropped=d["spans_dropped"],
            spans_dropped_before_bootstrap=d["spans_dropped_before_bootstrap"],
            error=d["error"],
        )
