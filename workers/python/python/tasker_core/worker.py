"""The running worker: Python threads wait for step events with the GIL released and run
handlers concurrently.

A Python function cannot be pre-empted, so a handler that never returns keeps its thread.
The Rust worker fails such a step at its timeout (the task goes on without it), and a
supervisor thread replaces the stuck handler thread, so the pool never shrinks; the stuck
thread is abandoned and leaves once its handler returns. The caller of :meth:`Worker.run_task`
never runs a handler itself, so it always gets its result on time."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, TypedDict, Union

from . import _tasker_core as _native
from .errors import ConversionError, ForkedWorkerError, WorkerStoppedError
from .event_bridge import wrap_step_execution_event
from .handler import HandlerRegistry
from .subscriber import Subscriber
from .tracing import warning
from .types import TaskResult, TelemetryReport

__all__ = ["Worker", "ServeReport"]

TemplateLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class ServeReport(TypedDict):
    """What :meth:`Worker.serve` did, once drained."""

    #: Messages taken from the queues (a redelivered one counts again).
    claimed: int
    #: Results recorded.
    recorded: int
    #: Results that were already recorded by another delivery, and changed nothing.
    duplicates: int
    #: Messages taken again after their worker was lost.
    redelivered: int


class Worker:
    """Returned by :func:`tasker_core.bootstrap_worker`."""

    #: Seconds one wait lasts before a handler thread checks whether the worker stopped.
    WAIT_SECONDS = 1.0
    #: How often the supervisor looks for handlers that outlived their step's timeout.
    SUPERVISE_SECONDS = 0.25
    #: How long past its step's timeout a handler may keep its thread before it is replaced.
    GRACE_SECONDS = 0.5
    #: How long :meth:`stop` waits for handler threads once the Rust worker has drained.
    JOIN_SECONDS = 1.0

    def __init__(self, native: Any, concurrency: int, handlers: HandlerRegistry,
                 rebootstrap: Optional[Callable[[], "Worker"]] = None) -> None:
        self._native = native
        self._rebootstrap = rebootstrap
        self._concurrency = concurrency
        self._subscriber = Subscriber(native, handlers)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # thread ident -> (deadline, step name) while that thread runs a handler
        self._busy: Dict[int, Tuple[float, str]] = {}
        self._abandoned: Set[int] = set()
        self._spawned = 0
        self._stopping = threading.Event()
        self._threads: List[threading.Thread] = []
        with self._lock:
            for _ in range(concurrency):
                self._spawn()
        threading.Thread(target=self._supervise, name="tasker-supervisor", daemon=True).start()

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

        The calling thread drives the task with the GIL released; handlers run on the
        worker's threads. A step whose handler outlives its ``timeout_ms`` fails as
        ``timeout`` at that moment, whether or not the handler ever returns. An interrupt
        (Ctrl-C) cancels the task: its queued steps never run, and :meth:`stop` does not
        wait for the running ones.

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
        if context is not None and not isinstance(context, Mapping):
            raise ConversionError(f"context must be a dict (a JSON object), got {type(context).__name__}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
            raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
        raw = self._native.run_task(template, dict(context or {}), None if timeout is None else float(timeout))
        return TaskResult._from_native(raw)

    def serve(self) -> ServeReport:
        """Serves the worker's queues (``bootstrap_worker(database_url=..., queues=[...])``)
        until :meth:`stop` from another thread, SIGINT or SIGTERM; then stops claiming,
        finishes and records the steps it holds, and returns what it did.

        Blocks with the GIL released; handlers run on the worker's threads, as for
        :meth:`run_task`, with the same :class:`StepContext`. Called on the main thread, it
        handles SIGINT and SIGTERM itself while it serves (and restores the previous
        handlers), so Ctrl-C drains instead of raising ``KeyboardInterrupt``.

        In a child forked after :func:`bootstrap_worker` (a pre-forking server), it first
        bootstraps the child's own worker with the same options: a new runtime, database
        pool and telemetry pipeline, shared with nobody.

        :raises ConfigurationError: when the worker was bootstrapped without queues or no
            database is configured
        :raises DatabaseError: when the database cannot be reached or is not migrated
        """
        if self._forked() and self._rebootstrap is not None:
            return self._rebootstrap().serve()
        self._check_fork()
        previous: Dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: self._native.stop_serving())
        try:
            report: ServeReport = self._native.serve()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return report

    def stop(self, *, raise_on_telemetry_error: bool = False) -> TelemetryReport:
        """Stops taking steps, drains in-flight ones, and flushes telemetry. Idempotent.

        Bounded: the Rust worker waits at most ``drain_timeout`` for running steps, then
        handler threads get :attr:`JOIN_SECONDS` to leave. A thread still running a handler
        then (one that outlived its step) is left behind; it is a daemon thread.

        Spans that could not be exported (a collector that is down or too slow) do not fail
        the stop: the report counts them and names the reason, and one WARN line says so.

        :param raise_on_telemetry_error: raise :class:`TelemetryError` for lost spans instead
            (the worker is stopped all the same)
        :returns: what telemetry exported, failed and dropped
        :raises ForkedWorkerError: in a forked child of the process that started the worker
        :raises WorkerStoppedError: when called from inside a step handler, which the stop
            would wait for (nothing is stopped); stop from outside the handlers
        :raises TelemetryError: only with ``raise_on_telemetry_error=True``, when spans were lost"""
        self._check_fork()
        self._native.check_stop()
        self._stopping.set()
        try:
            raw = self._native.stop(raise_on_telemetry_error)
        finally:
            deadline = time.monotonic() + self.JOIN_SECONDS
            with self._lock:
                threads = list(self._threads)
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
            self._subscriber.async_loop.stop()
        return TelemetryReport._from_native(raw)

    @property
    def handler_threads(self) -> int:
        """Handler threads serving steps now: alive and not abandoned to a runaway handler.
        Stays at ``concurrency`` while the worker runs."""
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive() and t.ident not in self._abandoned)

    def _forked(self) -> bool:
        return os.getpid() != self._pid

    def _check_fork(self) -> None:
        if self._forked():
            raise ForkedWorkerError(
                f"this worker was started in process {self._pid}; after fork, call tasker_core.bootstrap_worker() in the child"
            )

    def _spawn(self) -> None:
        """Starts one handler thread; call with ``_lock`` held."""
        t = threading.Thread(target=self._serve, name=f"tasker-handler-{self._spawned}", daemon=True)
        self._spawned += 1
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _serve(self) -> None:
        me = threading.get_ident()
        while True:
            try:
                event = self._native.wait_event(self.WAIT_SECONDS)
            except WorkerStoppedError:
                return
            if event is None:
                continue
            wrapped = wrap_step_execution_event(event)
            step = wrapped["task_sequence_step"]["workflow_step"]
            with self._lock:
                self._busy[me] = (time.monotonic() + self._subscriber.timeout_for(wrapped), str(step["name"]))
            try:
                self._subscriber.handle(wrapped)
            except BaseException as e:  # noqa: B036 - a handler thread must survive anything
                # The subscriber turns every handler exception into a failed step; what gets
                # here came from outside the handler (an async exception, a bug of ours).
                warning("handler thread caught an exception outside a handler", error=repr(e))
            finally:
                with self._lock:
                    del self._busy[me]
                    replaced = me in self._abandoned
                    self._abandoned.discard(me)
            if replaced:
                return  # another thread took this one's place while its handler overran

    def _supervise(self) -> None:
        while not self._stopping.wait(self.SUPERVISE_SECONDS):
            if self._forked():
                return
            now = time.monotonic()
            stuck = []
            with self._lock:
                for ident, (deadline, step) in self._busy.items():
                    if ident not in self._abandoned and now > deadline + self.GRACE_SECONDS:
                        self._abandoned.add(ident)
                        self._spawn()
                        stuck.append((step, now - deadline))
            for step, late in stuck:
                warning("handler outlived its step's timeout; its thread is abandoned and replaced",
                        step_name=step, overdue_seconds=round(late, 3))


_ = _native  # the extension module is imported before the worker can exist
