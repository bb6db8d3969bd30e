"""OpenTelemetry interop: where the application has ``opentelemetry-api`` (and usually the
SDK) installed, each handler runs inside a span whose parent is its step's traceparent, so
the application's own spans nest inside the step's trace; that span's ids go back with the
completion, and the worker's completion span becomes its child."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional, Tuple

from .types import StepContext

__all__ = ["available", "set_enabled", "step_span"]

_enabled = True
# opentelemetry is imported at the first step, not with the package: importing it costs
# tens of milliseconds, which `import tasker_core` (phase 1) should not pay.
_api: Optional[Any] = None
_loaded = False


def _load() -> Optional[Any]:
    global _api, _loaded
    if not _loaded:
        try:
            from opentelemetry import context, trace

            _api = (context, trace)
        except ImportError:  # the application does not use OpenTelemetry
            _api = None
        _loaded = True
    return _api


def available() -> bool:
    """Whether ``opentelemetry-api`` can be imported (it is imported on first use)."""
    return _load() is not None


def __getattr__(name: str) -> Any:
    if name == "AVAILABLE":
        return available()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def set_enabled(enabled: bool) -> None:
    """Turns the interop off (or on again) for handlers that start from now."""
    global _enabled
    _enabled = bool(enabled)


@contextmanager
def step_span(ctx: StepContext) -> Iterator[Tuple[Optional[Tuple[str, str]], Any]]:
    """Runs the body inside ``tasker.handler <step>``, a child of the step's execution span.

    Yields ``(ids, otel_context)``: ``ids`` are the (trace_id, span_id) to return with the
    completion when a real span was made (an SDK is configured), else None; ``otel_context``
    is the context to attach where the handler actually runs (an event loop)."""
    trace_id, span_id = ctx.trace_id, ctx.span_id
    api = _load() if (_enabled and trace_id and span_id) else None
    if api is None or not trace_id or not span_id:
        yield None, None
        return
    _otel_context, _otel_trace = api
    NonRecordingSpan, SpanContext, TraceFlags = _otel_trace.NonRecordingSpan, _otel_trace.SpanContext, _otel_trace.TraceFlags
    flags = int(ctx.traceparent[-2:], 16) if ctx.traceparent else 1
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(flags),
    )
    parent_ctx = _otel_trace.set_span_in_context(NonRecordingSpan(parent))
    if isinstance(_otel_trace.get_tracer_provider(), (_otel_trace.ProxyTracerProvider, _otel_trace.NoOpTracerProvider)):
        # opentelemetry-api without a configured SDK: a span would record nothing and its ids
        # would be the parent's, so the handler only runs in the step's context (what
        # propagators inject), at a fifth of the cost of starting a no-op span.
        token = _otel_context.attach(parent_ctx)
        try:
            yield None, parent_ctx
        finally:
            _otel_context.detach(token)
        return
    tracer = _otel_trace.get_tracer("tasker_core")
    attributes = {"step_name": ctx.step_name, "step_uuid": ctx.step_uuid, "task_uuid": ctx.task_uuid}
    with tracer.start_as_current_span(f"tasker.handler {ctx.step_name}", context=parent_ctx, attributes=attributes) as span:
        sc = span.get_span_context()
        own = sc.is_valid and sc.span_id != parent.span_id
        ids = (format(sc.trace_id, "032x"), format(sc.span_id, "016x")) if own else None
        yield ids, _otel_context.get_current()


def attach(otel_ctx: Any) -> Any:
    """Attaches ``otel_ctx`` in the current thread or task; returns the detach token."""
    api = _load() if otel_ctx is not None else None
    return api[0].attach(otel_ctx) if api is not None else None


def detach(token: Any) -> None:
    api = _load() if token is not None else None
    if api is not None:
        api[0].detach(token)
