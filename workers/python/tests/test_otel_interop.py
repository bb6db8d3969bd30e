"""With opentelemetry-sdk in the application, its spans nest inside the step's trace, and
their context goes back with the completion."""

from __future__ import annotations

import json

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tasker_core
from conftest import LINEAR, Collector, run_python


def test_application_spans_nest_inside_the_step_and_the_completion_hangs_off_them(collector: Collector) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    app_tracer = trace.get_tracer("my-app")

    async def square(ctx: tasker_core.StepContext) -> int:
        with app_tracer.start_as_current_span("app.compute"):
            deps = list(ctx.dependency_results.values())
            n = deps[0] if deps else ctx.input["even_number"]
            return n * n

    tasker_core.register_handler("square", square)
    w = tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": True, "endpoint": collector.http_endpoint})
    result = w.run_task(LINEAR, context={"even_number": 2})
    assert result.is_complete, result.steps
    w.stop()

    app_spans = {s.name: s for s in exporter.get_finished_spans()}
    handler_spans = [s for s in exporter.get_finished_spans() if s.name.startswith("tasker.handler ")]
    computes = [s for s in exporter.get_finished_spans() if s.name == "app.compute"]
    assert len(handler_spans) == 4 and len(computes) == 4, list(app_spans)
    trace_hex = result.trace_id
    by_id = {format(s.context.span_id, "016x"): s for s in handler_spans}
    for compute in computes:
        assert format(compute.context.trace_id, "032x") == trace_hex
        assert format(compute.parent.span_id, "016x") in by_id, "app span nests under the handler span"

    spans = collector.wait_for(lambda s: sum(x.trace_id == trace_hex for x in s) >= 9)
    execs = {s.span_id: s for s in spans if s.trace_id == trace_hex and s.name == "worker.step_execution"}
    for hid, h in by_id.items():
        assert format(h.parent.span_id, "016x") in execs, "the handler span's parent is the step's execution span"
    completions = [s for s in spans if s.trace_id == trace_hex and s.name == "worker.step_completion_received"]
    assert len(completions) == 4
    for c in completions:
        assert c.parent_id in by_id, "the completion's parent is the span the application returned"
        assert c.links[0]["span_id"] in execs


def test_without_an_sdk_a_handler_runs_in_its_steps_context_and_returns_the_steps_ids() -> None:
    # A fresh interpreter: the API's tracer provider can be set only once per process.
    code = """
import json
from opentelemetry import propagate, trace
import tasker_core
seen = []
def look(ctx):
    sc = trace.get_current_span().get_span_context()
    carrier = {}
    propagate.inject(carrier)
    seen.append({"current": [format(sc.trace_id, "032x"), format(sc.span_id, "016x")],
                 "step": [ctx.trace_id, ctx.span_id], "traceparent": carrier.get("traceparent"),
                 "expected": ctx.traceparent})
tasker_core.register_handler("look", look)
w = tasker_core.bootstrap_worker(telemetry={"enabled": False})
r = w.run_task({"namespace": "n", "name": "t", "steps": [{"name": "s", "handler": "look"}]})
w.stop()
print(json.dumps({"complete": r.is_complete, "seen": seen,
                  "provider": type(trace.get_tracer_provider()).__name__}))
"""
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["complete"] and out["provider"] == "ProxyTracerProvider"
    [seen] = out["seen"]
    assert seen["current"] == seen["step"]
    assert seen["traceparent"] == seen["expected"]
