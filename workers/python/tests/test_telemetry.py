"""The trace round trip, checked at a real collector."""

from __future__ import annotations

import queue

import tasker_core
from conftest import LINEAR, Collector, Square


def test_each_handler_sees_the_trace_of_its_exported_span_and_completions_link_back(collector: Collector) -> None:
    seen: "queue.Queue[tasker_core.StepContext]" = queue.Queue()

    def square(ctx: tasker_core.StepContext) -> tasker_core.StepResult:
        seen.put(ctx)
        return Square().call(ctx)

    tasker_core.register_handler("square", square)
    w = tasker_core.bootstrap_worker(
        concurrency=2, telemetry={"enabled": True, "endpoint": collector.http_endpoint, "service_name": "tasker-python-worker"}
    )
    result = w.run_task(LINEAR, context={"even_number": 2})
    assert result.is_complete
    w.stop()  # flushes

    spans = collector.wait_for(lambda s: sum(x.trace_id == result.trace_id for x in s) >= 9)
    mine = [s for s in spans if s.trace_id == result.trace_id]
    execs = [s for s in mine if s.name == "worker.step_execution"]
    completions = [s for s in mine if s.name == "worker.step_completion_received"]
    assert len(execs) == 4 and len(completions) == 4, [s.name for s in spans]
    assert execs[0].resource["service.name"] == "tasker-python-worker"
    contexts = [seen.get_nowait() for _ in range(seen.qsize())]
    assert len(contexts) == 4
    for ctx in contexts:
        exec_span = next(e for e in execs if e.span_id == ctx.span_id)
        assert exec_span.trace_id == ctx.trace_id
        assert exec_span.attributes["step_name"] == ctx.step_name
        for attr in ("correlation_id", "task_uuid", "step_uuid", "step_name", "namespace"):
            assert exec_span.attributes.get(attr), attr
        assert ctx.traceparent == f"00-{ctx.trace_id}-{ctx.span_id}-01"
    for c in completions:
        exec_span = next(e for e in execs if e.span_id == c.links[0]["span_id"])
        assert c.parent_id == exec_span.span_id
        assert c.has_event("step.python_execution_completed")
