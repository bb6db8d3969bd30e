"""Logging: Python records through the Rust pipeline, trace ids on a handler's records, and
opt-in forwarding of Rust's records into Python's :mod:`logging`."""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from typing import Any, Dict, Optional

from . import _tasker_core as _native

__all__ = [
    "log",
    "debug",
    "info",
    "warning",
    "error",
    "current_step",
    "TraceContextFilter",
    "forward_rust_logs",
    "stop_forwarding_rust_logs",
]

_current_step: ContextVar[Optional[Dict[str, Optional[str]]]] = ContextVar("tasker_core_step", default=None)


def current_step() -> Optional[Dict[str, Optional[str]]]:
    """The trace ids (and step name) of the step this thread or task is running, if any."""
    return _current_step.get()


def log(level: str, message: str, **fields: Any) -> None:
    """Logs through the Rust pipeline; inside a handler, with the step's trace ids."""
    step = _current_step.get()
    merged: Dict[str, Any] = {**step, **fields} if step else dict(fields)
    _native.log(level, str(message), merged)


def debug(message: str, **fields: Any) -> None:
    log("debug", message, **fields)


def info(message: str, **fields: Any) -> None:
    log("info", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("warning", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("error", message, **fields)


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id``, ``span_id`` and ``step_name`` to every record (None outside a
    handler), so a format like ``%(trace_id)s`` joins a handler's log lines to its trace.

    >>> handler.addFilter(tasker_core.TraceContextFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        step = _current_step.get() or {}
        record.trace_id = step.get("trace_id")
        record.span_id = step.get("span_id")
        record.step_name = step.get("step_name")
        return True


_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}
_forwarder: Optional[threading.Thread] = None
_forward_lock = threading.Lock()


def forward_rust_logs(logger: Optional[logging.Logger] = None, level: str = "info", capacity: int = 10_000) -> None:
    """Forwards the Rust core's log records at ``level`` or above into ``logger`` (default
    ``logging.getLogger("tasker_core.rust")``), in batches, from a daemon thread.

    The Rust side never waits for Python: records go into a bounded buffer (``capacity``)
    and what does not fit is counted, never blocking a worker thread or deadlocking on the
    GIL. Records carry ``rust_target``, ``rust_fields`` and ``rust_span`` attributes.
    """
    global _forwarder
    target = logger or logging.getLogger("tasker_core.rust")
    with _forward_lock:
        _native.start_log_forwarding(level, capacity)
        if _forwarder is not None and _forwarder.is_alive():
            return

        def drain() -> None:
            while True:
                batch = _native.next_log_records(256, 0.5)
                if batch is None:
                    return
                for r in batch:
                    target.log(
                        _LEVELS.get(r["level"], logging.INFO),
                        r["message"],
                        extra={"rust_target": r["target"], "rust_fields": r["fields"], "rust_span": r["span"]},
                    )

        _forwarder = threading.Thread(target=drain, name="tasker-core-log-forwarder", daemon=True)
        _forwarder.start()


def stop_forwarding_rust_logs() -> None:
    """Stops :func:`forward_rust_logs`."""
    global _forwarder
    with _forward_lock:
        _native.stop_log_forwarding()
        if _forwarder is not None:
            _forwarder.join(timeout=2)
        _forwarder = None
