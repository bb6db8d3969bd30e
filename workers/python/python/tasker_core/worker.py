"""The running worker: Python threads wait for step events with the GIL released and run
handlers concurrently."""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _tasker_core as _native
from .errors import ForkedWorkerError, WorkerStoppedError
from .event_bridge import wrap_step_execution_event
from .handler import HandlerRegistry
from .subscriber import Subscriber
from .types import TaskResult

__all__ = ["Worker"]

TemplateLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class Worker:
    """Returned by :func:`tasker_core.bootstrap_worker`."""

    #: Seconds one wait lasts before a handler thread checks whether the worker stopped.
    WAIT_SECONDS = 1.0

    def __init__(self, native: Any, concurrency: int, handlers: HandlerRegistry) -> None:
        self._native = native
        self._concurrency = concurrency
        self._subscriber = Subscriber(native, handlers)
        self._pid = os.getpid()
        self._threads: List[threading.Thread] = [
            threading.Thread(target=self._serve, name=f"tasker-handler-{i}", daemon=True) for i in range(concurrency)
        ]
        for t in self._threads:
            t.start()

    @property
    def native(self) -> Any:
        """The Rust handle."""
        return self._native

    @property
    def concurrency(self) -> int:
        return self._concurrency

    @property
    def worker_id(self) -> str:
        return str(self._native.worker_id)

    @property
    def web_address(self) -> Optional[str]:
        """Where /health and /metrics are served, if they are."""
        return self._native.web_address  # type: ignore[no-any-return]

    @property
    def stopped(self) -> bool:
        return self._forked() or bool(self._native.stopped)

    def run_task(self, template: TemplateLike, context: Optional[Mapping[str, Any]] = None,
                 timeout: Optional[float] = 30.0) -> TaskResult:
        """Runs a task to its end.

        :param template: a YAML/JSON file path, or the template as a dict:
            ``{namespace, name, version, steps: [{name, handler, depends_on, max_attempts, timeout_ms}]}``
        :param context: the task's input (JSON-compatible)
        :param timeout: seconds to wait; None waits as long as it takes
        :raises TemplateError: for an invalid template
        :raises UnknownHandlerError: when a step names an unregistered handler
        :raises TaskTimeoutError: when the task runs longer than ``timeout``
        :raises WorkerStoppedError: after :meth:`stop`
        """
        self._check_fork()
        if isinstance(template, os.PathLike):
            template = os.fspath(template)
        # This thread runs the handlers of the steps it takes while it waits: a step it takes
        # never waits for a handler thread to wake and get the GIL.
        raw = self._native.run_task(template, dict(context or {}), None if timeout is None else float(timeout),
                                    self._serve_one)
        return TaskResult._from_native(raw)

    def stop(self) -> None:
        """Stops taking steps, drains in-flight ones, and flushes telemetry. Idempotent."""
        self._check_fork()
        self._native.stop()
        for t in self._threads:
            t.join(timeout=5)
        self._subscriber.async_loop.stop()

    def _forked(self) -> bool:
        return os.getpid() != self._pid

    def _check_fork(self) -> None:
        if self._forked():
            raise ForkedWorkerError(
                f"this worker was started in process {self._pid}; after fork, call tasker_core.bootstrap_worker() in the child"
            )

    def _serve_one(self, event: Dict[str, Any]) -> None:
        self._subscriber.handle(wrap_step_execution_event(event))

    def _serve(self) -> None:
        while True:
            try:
                event = self._native.wait_event(self.WAIT_SECONDS)
            except WorkerStoppedError:
                return
            if event is not None:
                self._subscriber.handle(wrap_step_execution_event(event))


_ = _native  # the extension module is imported before the worker can exist
