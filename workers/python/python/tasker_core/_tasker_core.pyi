"""The Rust extension behind :mod:`tasker_core` (private: use the package's API)."""

from typing import Any, Callable, Dict, List, Optional, final

__all__ = [
    "ERROR_TYPES",
    "Client",
    "Worker",
    "after_fork_in_child",
    "ffi_floor",
    "flush_telemetry",
    "forwarded_logs_dropped",
    "log",
    "next_log_records",
    "raise_rust_panic",
    "shutdown_telemetry",
    "start_log_forwarding",
    "stop_log_forwarding",
    "telemetry_state",
]

#: The core's error_type vocabulary: TIMEOUT, UNKNOWN_HANDLER, INVALID_RESULT, HANDLER_ERROR,
#: WORKER_LOST, WORKER_STOPPED, INTERNAL_ERROR (docs/architecture.md).
ERROR_TYPES: Dict[str, str]

def ffi_floor(callback: Callable[[], object], n: int) -> None:
    """Calls ``callback()`` ``n`` times from Rust, with nothing else around the call: the
    floor under every call the worker makes into Python. An exception from ``callback``
    propagates."""

def log(level_name: str, message: str, fields: Optional[Dict[str, Any]] = None) -> None:
    """One event through the Rust pipeline (console, and OTLP export with telemetry on)."""

def telemetry_state() -> str:
    """``uninitialized``, ``console_only``, ``deferred`` or ``exporting``."""

def flush_telemetry(strict: bool = False) -> Dict[str, Any]:
    """Exports everything ended so far; returns the report's fields (``spans_exported``,
    ``spans_failed``, ``spans_dropped``, ``spans_dropped_before_bootstrap``, ``error``).
    Raises TelemetryError naming spans that were lost only when ``strict``."""

def shutdown_telemetry(strict: bool = False) -> Dict[str, Any]:
    """Flushes and stops export (bounded); console logging continues. Returns the report's
    fields, as :func:`flush_telemetry`."""

def after_fork_in_child() -> None:
    """Re-initialises telemetry in a forked child and abandons the parent's worker."""

def raise_rust_panic(message: str) -> None:
    """Panics in Rust on purpose: arrives as InternalError, the interpreter lives on."""

def start_log_forwarding(level_name: str = "info", capacity: int = 10000) -> None:
    """Starts buffering Rust log records at ``level_name`` or above for Python."""

def next_log_records(max_records: int = 256, timeout: float = 0.5) -> Optional[List[Dict[str, Any]]]:
    """Up to ``max_records`` forwarded records (waits with the GIL released); None when stopped."""

def stop_log_forwarding() -> None:
    """Stops forwarding."""

def forwarded_logs_dropped() -> int:
    """Records dropped because Python did not drain them fast enough."""

@final
class Worker:
    """The Rust handle on the process worker."""

    @staticmethod
    def bootstrap(options: Optional[Any] = None) -> "Worker":
        """Starts the process worker, or returns the running one when the options ask for
        nothing different; raises ConfigurationError naming what differs otherwise."""
    def register_handler(self, name: str) -> None: ...
    def run_task(self, template: Any, context: Optional[Any] = None,
                 timeout: Optional[float] = None) -> Dict[str, Any]:
        """Runs a task; waits with the GIL released and drives it, never running a handler.
        An interrupt cancels the task."""
    def serve(self) -> Dict[str, int]:
        """Serves the worker's queues with the GIL released until ``stop_serving``,
        ``stop`` or an interrupt; returns claimed/recorded/duplicates/redelivered once
        drained."""
    def stop_serving(self) -> None:
        """Asks ``serve`` to stop claiming and drain; safe from a signal handler."""
    def check_stop(self) -> None:
        """Raises what ``stop`` would refuse here (ForkedWorkerError in a forked child,
        WorkerStoppedError on a handler thread) before anything stops."""
    def stop(self, strict: bool = False) -> Dict[str, Any]:
        """Drains in-flight steps and flushes telemetry; returns the telemetry report's
        fields. Raises TelemetryError for lost spans only when ``strict``."""
    @property
    def worker_id(self) -> str: ...
    @property
    def stopped(self) -> bool: ...
    @property
    def web_address(self) -> Optional[str]: ...
    @property
    def handler_timeout(self) -> float: ...
    @property
    def in_flight(self) -> int: ...
    def wait_event(self, timeout: float) -> Optional[Dict[str, Any]]:
        """The next step event, or None after ``timeout`` seconds (GIL released)."""
    def poll_event(self) -> Optional[Dict[str, Any]]:
        """The next step event if one is queued; never blocks."""
    def complete(self, event_id: str, completion: Any) -> None:
        """Delivers a completion for ``event_id``."""

@final
class Client:
    """The Rust handle on a task database connection."""

    @staticmethod
    def connect(database_url: Optional[str] = None) -> "Client":
        """Connects and checks the database is migrated."""
    def submit(self, template: Any, context: Optional[Any] = None) -> Any:
        """Submits a task; returns ``{task_uuid, correlation_id, trace_id}``."""
    def status(self, task_uuid: str) -> Dict[str, Any]:
        """The task's result so far."""
    def wait(self, task_uuid: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Waits (GIL released) for the task to end."""
    @property
    def database_url(self) -> str: ...
