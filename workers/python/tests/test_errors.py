"""The exception classes and the error_type vocabulary come from the core's one table."""

from __future__ import annotations

import tasker_core
from tasker_core import _tasker_core


def test_every_core_error_kind_has_its_class_in_the_package() -> None:
    for name in ["ConfigurationError", "TemplateError", "UnknownHandlerError", "TraceContextError",
                 "TelemetryError", "ConversionError", "CompletionError", "TaskTimeoutError",
                 "DatabaseError", "WorkerStoppedError", "ForkedWorkerError", "InternalError"]:
        cls = getattr(tasker_core, name)
        assert issubclass(cls, tasker_core.TaskerError), name


def test_the_error_type_vocabulary_is_the_cores() -> None:
    assert _tasker_core.ERROR_TYPES == {
        "TIMEOUT": "timeout",
        "UNKNOWN_HANDLER": "unknown_handler",
        "INVALID_RESULT": "invalid_result",
        "HANDLER_ERROR": "handler_error",
        "WORKER_LOST": "worker_lost",
        "WORKER_STOPPED": "worker_stopped",
        "INTERNAL_ERROR": "internal_error",
    }


def test_a_step_whose_handler_is_not_registered_in_this_process_fails_as_unknown_handler() -> None:
    worker = tasker_core.bootstrap_worker(concurrency=1)
    try:
        # Registered with the Rust worker, but missing from the Python registry, as a
        # distributed worker sees a step of a handler it does not have.
        worker.native.register_handler("elsewhere")
        result = worker.run_task({"namespace": "n", "name": "t", "steps": [{"name": "s", "handler": "elsewhere"}]})
        step = result.steps["s"]
        assert (step["status"], step["error_type"]) == ("failed", "unknown_handler")
        assert step["error"] == "no Python handler registered as 'elsewhere'"
    finally:
        worker.stop()
