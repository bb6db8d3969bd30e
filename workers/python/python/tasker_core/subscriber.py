"""Runs the handler for one event and sends the completion back, trace ids included.
Nothing is lost: an exception, a timeout or a result JSON cannot hold each becomes a failed
step with its reason."""

from __future__ import annotations

import threading
from collections.abc import Awaitable as _Awaitable
from typing import TYPE_CHECKING, Any, Awaitable, Dict, Optional

from . import _tasker_core as _native
from . import otel
from .errors import CompletionError, ConversionError
from .event_bridge import step_context
from .handler import HandlerRegistry
from .tracing import _current_step, debug
from .types import StepResult

if TYPE_CHECKING:
    import asyncio

__all__ = ["Subscriber"]

#: The core's error_type vocabulary (docs/architecture.md), never spelled here.
_ERROR_TYPES: Dict[str, str] = _native.ERROR_TYPES


class _TimedOut(Exception):
    """An async handler outlived its step's timeout."""


class _Raised:
    """A ``BaseException`` an async handler raised, carried out of the event loop: asyncio
    lets ``SystemExit`` and ``KeyboardInterrupt`` escape ``run_forever`` and would end the
    loop thread every async handler shares."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _EventLoopThread:
    """One asyncio loop on a daemon thread: async handlers run there concurrently, and a
    host thread only waits for its own handler's future.

    asyncio is imported when the first async handler runs, not with the package: it is
    most of what ``import tasker_core`` would otherwise cost, and sync-only workers never
    need it."""

    def __init__(self) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        import asyncio

        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=self._run_loop, args=(loop,), name="tasker-core-asyncio", daemon=True).start()
                self._loop = loop
            return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        # Closed on the thread that ran it, once stopped; a loop left to the garbage
        # collector closes itself at exit against a selector that is already gone.
        try:
            loop.run_forever()
        finally:
            loop.close()

    def run(self, coro: Awaitable[Any], timeout: float, step: Dict[str, Optional[str]], otel_ctx: Any) -> Any:
        async def with_context() -> Any:
            token = _current_step.set(step)
            otel_token = otel.attach(otel_ctx)
            try:
                return await coro
            except (SystemExit, KeyboardInterrupt) as e:
                return _Raised(e)
            finally:
                otel.detach(otel_token)
                _current_step.reset(token)

        import asyncio
        import concurrent.futures

        future = asyncio.run_coroutine_threadsafe(with_context(), self.loop())
        try:
            value = future.result(timeout)
        except (concurrent.futures.TimeoutError, asyncio.TimeoutError):
            future.cancel()
            raise _TimedOut() from None
        if isinstance(value, _Raised):
            raise value.error
        return value

    def stop(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None


class Subscriber:
    def __init__(self, native: Any, handlers: HandlerRegistry) -> None:
        self._native = native
        self._handlers = handlers
        self.async_loop = _EventLoopThread()

    def handle(self, event_data: Dict[str, Any]) -> None:
        ctx = step_context(event_data)
        step = event_data["task_sequence_step"]["workflow_step"]
        timeout = self.timeout_for(event_data)
        ids = {"trace_id": ctx.trace_id, "span_id": ctx.span_id, "step_name": ctx.step_name}
        token = _current_step.set(ids)
        host_ids = None
        try:
            with otel.step_span(ctx) as (host_ids, otel_ctx):
                outcome = self._run(step["handler"], ctx, timeout, ids, otel_ctx)
        finally:
            _current_step.reset(token)
        self._publish(event_data, outcome, host_ids)

    @staticmethod
    def timeout_for(event_data: Dict[str, Any]) -> float:
        """Seconds the step's handler may run, as the core decided it (the step's
        ``timeout_ms``, else the worker's handler timeout)."""
        return float(event_data["timeout_ms"]) / 1000.0

    def _run(self, name: str, ctx: Any, timeout: float, ids: Dict[str, Optional[str]], otel_ctx: Any) -> StepResult:
        fn = self._handlers.resolve(name)
        if fn is None:
            return StepResult(False, error_message=f"no Python handler registered as {name!r}",
                              error_type=_ERROR_TYPES["UNKNOWN_HANDLER"], retryable=False)
        try:
            value = fn(ctx)
            if isinstance(value, _Awaitable):
                value = self.async_loop.run(value, timeout, ids, otel_ctx)
        except _TimedOut:
            return StepResult(False, error_message=f"handler timed out after {timeout} s", error_type=_ERROR_TYPES["TIMEOUT"])
        except Exception as e:  # a handler's exception is the step's failure, not ours
            retryable = getattr(e, "retryable", True)
            return StepResult(False, error_message=str(e) or type(e).__name__,
                              error_type=type(e).__qualname__, retryable=bool(retryable))
        except BaseException as e:  # noqa: B036
            # SystemExit, KeyboardInterrupt or a bare BaseException from a handler thread:
            # such a thread is not the main thread, so exiting or interrupting from it would
            # only end the thread and shrink the pool. The step fails, with the reason, and
            # is not retried (the handler asked to stop, not to be run again).
            return StepResult(False, error_message=f"handler raised {type(e).__name__}{_args(e)}; "
                              "a handler cannot exit or interrupt the worker, so the step failed",
                              error_type=type(e).__qualname__, retryable=False)
        return value if isinstance(value, StepResult) else StepResult(True, result=value)

    def publish_step_completion(self, event_data: Dict[str, Any], success: bool, result: Any = None,
                                error_message: Optional[str] = None, metadata: Optional[Dict[str, Any]] = None,
                                trace_ids: Optional[Any] = None) -> None:
        completion: Dict[str, Any] = {
            "event_id": event_data["event_id"],
            "task_uuid": event_data["task_uuid"],
            "step_uuid": event_data["step_uuid"],
            "success": success,
            "result": result,
            "metadata": metadata,
            "error_message": error_message,
        }
        # TAS-65: propagate trace context back to Rust (the handler's own span when it made one)
        if trace_ids is not None:
            completion["trace_id"], completion["span_id"] = trace_ids
        else:
            if "trace_id" in event_data:
                completion["trace_id"] = event_data["trace_id"]
            if "span_id" in event_data:
                completion["span_id"] = event_data["span_id"]
        self._native.complete(event_data["event_id"], completion)

    def _publish(self, event_data: Dict[str, Any], outcome: StepResult, host_ids: Any) -> None:
        try:
            if outcome.success:
                self.publish_step_completion(event_data, True, result=outcome.result,
                                             metadata=dict(outcome.metadata), trace_ids=host_ids)
            else:
                meta = {**outcome.metadata, "error_type": outcome.error_type, "retryable": outcome.retryable}
                self.publish_step_completion(event_data, False, error_message=outcome.error_message,
                                             metadata=meta, trace_ids=host_ids)
        except ConversionError as e:
            self.publish_step_completion(event_data, False, error_message=str(e),
                                         metadata={"error_type": _ERROR_TYPES["INVALID_RESULT"], "retryable": False},
                                         trace_ids=host_ids)
        except CompletionError as e:
            debug("late completion dropped", reason=str(e))


def _args(e: BaseException) -> str:
    return f"({', '.join(repr(a) for a in e.args)})" if e.args else ""
