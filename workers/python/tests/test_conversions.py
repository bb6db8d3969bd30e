"""Values across the boundary: JSON round trips; anything else fails clearly."""

from __future__ import annotations

import datetime
from typing import Any, Callable

import pytest

import tasker_core
from conftest import template


def run_one(worker: tasker_core.Worker, fn: Callable[[tasker_core.StepContext], Any]) -> tasker_core.TaskResult:
    tasker_core.register_handler("h", fn)
    return worker.run_task(template("conv", [{"name": "s", "handler": "h"}]),
                           context={"nested": {"list": [1, 2.5, "x", None, True], "tuple": (1, 2)}})


def test_json_values_round_trip_through_the_core(worker: tasker_core.Worker) -> None:
    seen = {}

    def echo(ctx: tasker_core.StepContext) -> Any:
        seen.update(ctx.input)
        return {"echo": ctx.input, "big": 2**62, "neg": -3, "f": 0.5, "u64": 2**64 - 1}

    result = run_one(worker, echo)
    assert result.is_complete, result.steps
    assert seen == {"nested": {"list": [1, 2.5, "x", None, True], "tuple": [1, 2]}}
    assert result.step_results["s"] == {"echo": seen, "big": 2**62, "neg": -3, "f": 0.5, "u64": 2**64 - 1}


def test_a_result_that_is_not_json_becomes_a_failed_step_with_the_reason(worker: tasker_core.Worker) -> None:
    step = run_one(worker, lambda ctx: {"when": datetime.datetime(2026, 1, 1)}).steps["s"]
    assert step["status"] == "failed"
    assert step["error_type"] == "invalid_result"
    assert 'completion["result"]["when"] is a datetime, which is not JSON' in step["error"]


def test_non_finite_floats_huge_ints_and_cycles_are_refused(worker: tasker_core.Worker) -> None:
    assert run_one(worker, lambda c: float("nan")).steps["s"]["error"] == 'completion["result"] is NaN, which JSON cannot hold'
    assert "outside the 64-bit range" in run_one(worker, lambda c: 2**70).steps["s"]["error"]
    cyclic: list = []
    cyclic.append(cyclic)
    assert "nested more than 128 levels deep" in run_one(worker, lambda c: cyclic).steps["s"]["error"]


def test_a_context_that_is_not_json_raises_conversion_error(worker: tasker_core.Worker) -> None:
    tasker_core.register_handler("h", lambda c: 1)
    with pytest.raises(tasker_core.ConversionError, match=r'^context\["x"\] is a object, which is not JSON') as info:
        worker.run_task(template("c", [{"name": "s", "handler": "h"}]), context={"x": object()})
    assert isinstance(info.value, TypeError)


def test_a_malformed_completion_is_refused_clearly(worker: tasker_core.Worker) -> None:
    with pytest.raises(tasker_core.ConversionError, match='^event_id "nope" is not a UUID$'):
        worker.native.complete("nope", {})
    nil = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(tasker_core.CompletionError, match="no step is in flight for event"):
        worker.native.complete(nil, {"event_id": nil, "task_uuid": nil, "step_uuid": nil, "success": True})
