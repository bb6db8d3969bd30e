"""Exceptions raised by tasker-core. Each is a :class:`TaskerError` and a familiar builtin,
so ``except ValueError`` or ``except LookupError`` also catch them where that reads best."""

from __future__ import annotations

import builtins

__all__ = [
    "TaskerError",
    "ConfigurationError",
    "TemplateError",
    "UnknownHandlerError",
    "TraceContextError",
    "TelemetryError",
    "ConversionError",
    "CompletionError",
    "TaskTimeoutError",
    "DatabaseError",
    "WorkerStoppedError",
    "ForkedWorkerError",
    "InternalError",
]


class TaskerError(Exception):
    """Every error tasker-core raises."""


class ConfigurationError(TaskerError, ValueError):
    """An unknown or invalid option to :func:`bootstrap_worker`."""


class TemplateError(TaskerError, ValueError):
    """A template that cannot be read or is invalid (unknown dependency, cycle, duplicate
    step name, no steps)."""


class UnknownHandlerError(TaskerError, LookupError):
    """A template names a handler nobody registered."""


class TraceContextError(TaskerError, ValueError):
    """A malformed trace id, span id or traceparent."""


class TelemetryError(TaskerError, RuntimeError):
    """Telemetry could not be flushed or shut down."""


class ConversionError(TaskerError, TypeError):
    """A value JSON cannot hold (a handler result, a context, options)."""


class CompletionError(TaskerError, ValueError):
    """A completion for no step in flight: unknown, already completed, or timed out."""


class TaskTimeoutError(TaskerError, builtins.TimeoutError):
    """A task did not finish within the caller's timeout."""


class DatabaseError(TaskerError, RuntimeError):
    """The task database could not be reached or used: unreachable, not migrated, an
    unknown task, a queue nobody serves. The message names the cure and never a password."""


class WorkerStoppedError(TaskerError, RuntimeError):
    """A call after the worker stopped."""


class ForkedWorkerError(WorkerStoppedError):
    """A worker used in a process forked from the one that started it."""


class InternalError(TaskerError, RuntimeError):
    """A bug in tasker-core; a Rust panic becomes this, never a crash."""
