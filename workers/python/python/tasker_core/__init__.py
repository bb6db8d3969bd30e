"""tasker-core for Python: write step handlers in Python; the Rust core runs the workflow and
records one trace per task, across the FFI boundary and back.

Importing the package loads the extension, which starts console logging (phase 1) with no
async runtime; :func:`bootstrap_worker` starts the worker and OpenTelemetry export (phase 2).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, Mapping, Optional, Sequence

from . import errors
from .errors import (
    CompletionError,
    ConfigurationError,
    ConversionError,
    DatabaseError,
    ForkedWorkerError,
    InternalError,
    TaskerError,
    TaskTimeoutError,
    TelemetryError,
    TemplateError,
    TraceContextError,
    UnknownHandlerError,
    WorkerStoppedError,
)

# Phase 1: console logging from this import on.
from . import _tasker_core as _native  # noqa: E402
from . import otel  # noqa: E402
from .handler import HandlerLike, HandlerRegistry, StepHandler  # noqa: E402
from .tracing import TraceContextFilter, forward_rust_logs, stop_forwarding_rust_logs  # noqa: E402
from .types import StepContext, StepResult, TaskResult, TelemetryReport  # noqa: E402
from .worker import ServeReport, Worker  # noqa: E402
from .client import Client, SubmittedTask  # noqa: E402
from . import tracing  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "StepHandler",
    "StepContext",
    "StepResult",
    "TaskResult",
    "TelemetryReport",
    "Worker",
    "ServeReport",
    "Client",
    "SubmittedTask",
    "HandlerRegistry",
    "register_handler",
    "bootstrap_worker",
    "current_worker",
    "shutdown",
    "flush_telemetry",
    "tracing",
    "otel",
    "TraceContextFilter",
    "forward_rust_logs",
    "stop_forwarding_rust_logs",
    "errors",
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

_handlers = HandlerRegistry()
_worker: Optional[Worker] = None
_lock = threading.Lock()


def register_handler(name: str, handler: HandlerLike) -> None:
    """Registers a handler under the name templates use: a :class:`StepHandler` subclass
    (a new instance runs each step), an instance, or a plain or async callable taking the
    :class:`StepContext`."""
    _handlers.register(name, handler)
    w = _worker
    if w is not None and not w.stopped:
        w.native.register_handler(str(name))


def bootstrap_worker(
    concurrency: int = 4,
    telemetry: Optional[Mapping[str, Any]] = None,
    handler_timeout: float = 30.0,
    database_url: Optional[str] = None,
    queues: Optional[Sequence[str]] = None,
    **options: Any,
) -> Worker:
    """Starts the process worker (phase 2: the Rust runtime and telemetry export), or
    returns the running one: a second call with the same options returns the same worker.
    Options are validated on every call; a call whose options differ from the running
    worker's raises :class:`ConfigurationError` naming each difference (stop the worker
    first to change them).

    :param concurrency: Python threads running handlers at once
    :param telemetry: ``{enabled, endpoint, traces_endpoint, metrics_endpoint, protocol,
        headers, timeout_ms, compression, certificate, client_certificate, client_key,
        service_name, service_version, sample_ratio}``, each the OTel variable of that name
        (docs/telemetry.md); overrides TELEMETRY_ENABLED and OTEL_* from the environment
    :param handler_timeout: seconds a handler may run, unless its step sets timeout_ms
    :param database_url: the task database :meth:`Worker.serve` claims steps from; None
        reads ``TASKER_DATABASE_URL``, then ``DATABASE_URL``, when serving starts
    :param queues: the queues :meth:`Worker.serve` takes steps from (template ``queue``
        names, else namespaces)
    :param options: ``worker_id``, ``namespaces``, ``web_bind_address``,
        ``dispatch_buffer``, ``drain_timeout``, ``poll_interval`` (seconds), ``notify``
    :raises ConfigurationError: for an unknown or invalid option
    """
    global _worker
    with _lock:
        opts = dict(options, concurrency=concurrency, handler_timeout=handler_timeout)
        if database_url is not None:
            opts["database_url"] = database_url
        if queues is not None:
            if isinstance(queues, str) or not isinstance(queues, Sequence):
                raise ConfigurationError(f"queues must be a list of queue names, got {type(queues).__name__}")
            opts["queues"] = list(queues)
        if telemetry is not None:
            if not isinstance(telemetry, Mapping):
                raise ConfigurationError(f"telemetry must be a dict, got {type(telemetry).__name__}")
            opts["telemetry"] = dict(telemetry)
        native = _native.Worker.bootstrap(opts)
        if _worker is not None and not _worker.stopped and _worker.worker_id == native.worker_id:
            return _worker
        for name in _handlers.names():
            native.register_handler(name)
        asked = dict(concurrency=concurrency, telemetry=telemetry, handler_timeout=handler_timeout,
                     database_url=database_url, queues=queues, **options)
        _worker = Worker(native, concurrency, _handlers, rebootstrap=lambda: bootstrap_worker(**asked))
        return _worker


def current_worker() -> Optional[Worker]:
    """The running worker, if any."""
    w = _worker
    return w if w is not None and not w.stopped else None


def flush_telemetry(*, raise_on_telemetry_error: bool = False) -> TelemetryReport:
    """Exports every span ended so far (bounded, 5 s) and reports what telemetry did.

    Lost spans are counted and named in the report, and logged once as a WARN, not raised.

    :param raise_on_telemetry_error: raise :class:`TelemetryError` for lost spans instead
    :raises TelemetryError: only with ``raise_on_telemetry_error=True``, when spans were lost"""
    return TelemetryReport._from_native(_native.flush_telemetry(raise_on_telemetry_error))


def shutdown() -> Optional[TelemetryReport]:
    """Stops the worker (draining in-flight steps) and flushes telemetry. Runs at exit.

    Never raises for telemetry: spans that could not be exported are counted in the report
    and logged once as a WARN. Returns None when the running worker could not be stopped here
    (it belongs to the parent of a forked process)."""
    w = _worker
    try:
        if w is not None and not w.stopped:
            return w.stop()
        return TelemetryReport._from_native(_native.shutdown_telemetry())
    except TaskerError as e:
        print(f"tasker-core: shutdown: {e}", file=sys.stderr)
        return None


def _after_fork_in_child() -> None:
    global _worker, _lock
    _native.after_fork_in_child()
    _worker = None
    _lock = threading.Lock()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
