"""Steps through the bridge: results, concurrency, failures, timeouts, bad input."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import tasker_core
from conftest import DIAMOND, LINEAR, template


def test_linear_and_diamond_complete_with_dependency_results_delivered(worker: tasker_core.Worker) -> None:
    linear = worker.run_task(LINEAR, context={"even_number": 2})
    assert linear.status == "complete"
    assert linear.step_results == {"linear_step_1": 4, "linear_step_2": 16, "linear_step_3": 256, "linear_step_4": 65536}
    diamond = worker.run_task(str(DIAMOND), context={"even_number": 2})
    assert diamond.is_complete
    assert diamond.step_results["diamond_end"] == 32
    assert diamond.steps["diamond_start"]["status"] == "complete"
    assert len(diamond.trace_id or "") == 32


def test_handlers_run_concurrently_on_python_threads(worker: tasker_core.Worker) -> None:
    barrier = threading.Barrier(4, timeout=5)  # breaks unless four handlers are inside at once
    names = []

    def meet(ctx: tasker_core.StepContext) -> str:
        barrier.wait()
        names.append(threading.current_thread().name)
        return "met"

    tasker_core.register_handler("meet", meet)
    steps = [{"name": "root", "handler": "square"}] + [
        {"name": f"b{i}", "handler": "meet", "depends_on": ["root"]} for i in range(4)
    ]
    result = worker.run_task(template("fan", steps), context={"even_number": 2})
    assert result.is_complete, result.steps
    assert len(set(names)) == 4
    assert threading.current_thread().name not in names, "the thread running the task never runs a handler"


def test_async_handlers_run_on_an_event_loop_without_blocking_each_other(worker: tasker_core.Worker) -> None:
    arrived = {"n": 0}

    async def gather_point(ctx: tasker_core.StepContext) -> int:
        arrived["n"] += 1
        deadline = time.monotonic() + 5
        while arrived["n"] < 4:  # only possible if all four are awaiting at once
            if time.monotonic() > deadline:
                raise RuntimeError("async handlers did not overlap")
            await asyncio.sleep(0.01)
        return ctx.attempt

    tasker_core.register_handler("gather_point", gather_point)
    steps = [{"name": f"a{i}", "handler": "gather_point"} for i in range(4)]
    result = worker.run_task(template("async_fan", steps))
    assert result.is_complete, result.steps
    assert result.step_results == {f"a{i}": 1 for i in range(4)}


def test_an_exception_becomes_a_failed_step_with_its_message(worker: tasker_core.Worker) -> None:
    def boom(ctx: tasker_core.StepContext) -> None:
        raise ValueError("card declined")

    tasker_core.register_handler("boom", boom)
    result = worker.run_task(template("boom", [{"name": "charge", "handler": "boom"},
                                               {"name": "ship", "handler": "square", "depends_on": ["charge"]}]))
    assert result.status == "error"
    assert result.steps["charge"]["status"] == "failed"
    assert result.steps["charge"]["error"] == "card declined"
    assert result.steps["charge"]["error_type"] == "ValueError"
    assert result.steps["ship"]["status"] == "skipped"


def test_failures_retry_only_when_retryable(worker: tasker_core.Worker) -> None:
    class Flaky(tasker_core.StepHandler):
        def call(self, ctx: tasker_core.StepContext) -> tasker_core.StepResult:
            return self.failure("again", error_type="Flaky") if ctx.attempt < 2 else self.success(ctx.attempt)

    class Fatal(tasker_core.StepHandler):
        def call(self, ctx: tasker_core.StepContext) -> tasker_core.StepResult:
            return self.failure("no", retryable=False)

    tasker_core.register_handler("flaky", Flaky)
    tasker_core.register_handler("fatal", Fatal)
    result = worker.run_task(template("retry", [{"name": "f", "handler": "flaky", "max_attempts": 3},
                                                {"name": "g", "handler": "fatal", "max_attempts": 3}]))
    assert result.step_results["f"] == 2 and result.steps["f"]["attempts"] == 2
    assert result.steps["g"]["attempts"] == 1 and result.steps["g"]["error_type"] == "StepFailure"


def test_a_handler_past_its_timeout_becomes_a_failed_step(worker: tasker_core.Worker) -> None:
    async def forever(ctx: tasker_core.StepContext) -> None:
        await asyncio.sleep(60)

    tasker_core.register_handler("sleepy", lambda ctx: time.sleep(1.5))
    tasker_core.register_handler("forever", forever)
    result = worker.run_task(template("slow", [{"name": "s", "handler": "sleepy", "timeout_ms": 200},
                                               {"name": "a", "handler": "forever", "timeout_ms": 200}]))
    for name in ("s", "a"):
        assert result.steps[name]["status"] == "failed"
        assert result.steps[name]["error_type"] == "timeout", result.steps[name]


def test_an_unknown_handler_raises_before_anything_runs(worker: tasker_core.Worker) -> None:
    with pytest.raises(tasker_core.UnknownHandlerError) as info:
        worker.run_task(template("x", [{"name": "s", "handler": "nobody"}]))
    assert str(info.value) == 'no handler registered as "nobody"'
    assert isinstance(info.value, LookupError) and isinstance(info.value, tasker_core.TaskerError)


def test_a_bad_template_raises_a_template_error(worker: tasker_core.Worker) -> None:
    cyclic = template("cyc", [{"name": "a", "handler": "square", "depends_on": ["b"]},
                              {"name": "b", "handler": "square", "depends_on": ["a"]}])
    with pytest.raises(tasker_core.TemplateError) as info:
        worker.run_task(cyclic)
    assert str(info.value) == "task template python_test/cyc@1.0.0 has a dependency cycle: a -> b -> a"
    with pytest.raises(tasker_core.TemplateError, match="^cannot read task template /nonexistent.yaml"):
        worker.run_task("/nonexistent.yaml")
    with pytest.raises(tasker_core.TemplateError, match="missing field `steps`"):
        worker.run_task({"namespace": "n", "name": "t"})


def test_a_task_longer_than_the_callers_timeout_raises(worker: tasker_core.Worker) -> None:
    tasker_core.register_handler("nap", lambda ctx: time.sleep(1))
    with pytest.raises(tasker_core.TaskTimeoutError, match=r"did not finish within 0.1 s$") as info:
        worker.run_task(template("nap", [{"name": "s", "handler": "nap"}]), timeout=0.1)
    assert isinstance(info.value, TimeoutError)


def test_poll_never_blocks(worker: tasker_core.Worker) -> None:
    assert worker.native.poll_event() is None


def test_ffi_floor_calls_from_rust_n_times_and_lets_an_exception_through() -> None:
    from tasker_core import _tasker_core as native

    calls = []
    assert native.ffi_floor(lambda: calls.append(1), 3) is None
    assert len(calls) == 3

    def boom() -> None:
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="^from the callback$"):
        native.ffi_floor(boom, 1)
