"""Step handlers: subclass :class:`StepHandler`, or register any (async) callable."""

from __future__ import annotations

import threading
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Type, Union

from .errors import TaskerError
from .types import StepContext, StepResult

__all__ = ["StepHandler", "HandlerRegistry", "HandlerLike"]


class StepHandler:
    """Subclass it and implement ``call(self, context)`` (plain or ``async def``).

    A raised exception fails the step with its message and type (retryable unless the
    exception has ``retryable = False``); a handler past its timeout fails it with
    ``error_type="timeout"``. Any return value other than a :class:`StepResult` is taken as
    the success result.
    """

    def call(self, context: StepContext) -> Any:
        raise TaskerError(f"{type(self).__name__} must define call(self, context); it got step {context.step_name!r}")

    def success(self, result: Any = None, metadata: Optional[Mapping[str, Any]] = None) -> StepResult:
        """The step succeeded with ``result`` (JSON-compatible)."""
        return StepResult(success=True, result=result, metadata=dict(metadata or {}))

    def failure(
        self,
        message: str,
        error_type: Optional[str] = None,
        retryable: bool = True,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> StepResult:
        """The step failed; ``retryable`` steps are tried again up to their ``max_attempts``."""
        return StepResult(
            success=False,
            error_message=str(message),
            error_type=error_type or "StepFailure",
            retryable=bool(retryable),
            metadata=dict(metadata or {}),
        )


HandlerLike = Union[Type[StepHandler], StepHandler, Callable[[StepContext], Union[Any, Awaitable[Any]]]]


class HandlerRegistry:
    """Handlers by the name templates use. Thread-safe."""

    def __init__(self) -> None:
        self._handlers: Dict[str, HandlerLike] = {}
        self._lock = threading.Lock()

    def register(self, name: str, handler: HandlerLike) -> None:
        is_class = isinstance(handler, type) and issubclass(handler, StepHandler)
        if not (is_class or isinstance(handler, StepHandler) or callable(handler)):
            raise TypeError(
                f"handler for {name!r} must be a StepHandler subclass or instance, or a callable taking the context; got {handler!r}"
            )
        with self._lock:
            self._handlers[str(name)] = handler

    def names(self) -> List[str]:
        with self._lock:
            return list(self._handlers)

    def resolve(self, name: str) -> Optional[Callable[[StepContext], Any]]:
        """The callable for ``name``: a fresh instance's ``call`` for a class."""
        with self._lock:
            h = self._handlers.get(name)
        if h is None:
            return None
        if isinstance(h, type) and issubclass(h, StepHandler):
            return h().call
        if isinstance(h, StepHandler):
            return h.call
        return h
