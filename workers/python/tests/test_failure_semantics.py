"""What a runaway handler, a host exception and an interrupt do: the step fails with its
reason, the caller gets its result, the handler pool keeps its size, and stop is bounded."""

from __future__ import annotations

import re
import threading
from typing import Iterator

import pytest

import tasker_core
from conftest import LINEAR, Square, run_python, template


@pytest.fixture(scope="module")
def worker() -> Iterator[tasker_core.Worker]:
    tasker_core.register_handler("square", Square)
    w = tasker_core.bootstrap_worker(concurrency=4, handler_timeout=10, telemetry={"enabled": False})
    yield w
    w.stop()


def run_in_thread(w: tasker_core.Worker, tmpl: object, limit: float = 30.0) -> tasker_core.TaskResult:
    """Runs the task on another thread, so a run_task that never returns fails the test
    instead of hanging it."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(w.run_task(tmpl, timeout=20)), daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), "run_task did not return"
    return out[0]


def test_a_handler_that_never_returns_fails_its_step_as_timeout_and_frees_the_caller(
        worker: tasker_core.Worker) -> None:
    release = threading.Event()

    def never_returns(ctx: tasker_core.StepContext) -> str:
        release.wait()
        return "too late"

    tasker_core.register_handler("never_returns", never_returns)
    try:
        result = run_in_thread(worker, template("runaway", [
            {"name": "stuck", "handler": "never_returns", "timeout_ms": 300, "max_attempts": 1}]))
        assert result.status == "error"
        assert result.steps["stuck"]["error_type"] == "timeout"
        assert re.fullmatch(r"handler timed out after \d+ ms", result.steps["stuck"]["error"])
        # The stuck thread was replaced: the pool still serves four steps at once.
        deadline = threading.Event()
        for _ in range(40):
            if worker.handler_threads == 4:
                break
            deadline.wait(0.1)
        assert worker.handler_threads == 4
        assert worker.run_task(LINEAR, context={"even_number": 2}).is_complete
    finally:
        release.set()


def test_a_handler_that_outlives_its_timeout_is_recorded_at_the_timeout(worker: tasker_core.Worker) -> None:
    release = threading.Event()
    tasker_core.register_handler("slow", lambda ctx: release.wait(5) and "late")
    try:
        result = run_in_thread(worker, template("slow", [
            {"name": "slow", "handler": "slow", "timeout_ms": 200, "max_attempts": 1}]))
        assert result.steps["slow"]["error_type"] == "timeout"
    finally:
        release.set()


@pytest.mark.parametrize("raised, error_type, message", [
    (SystemExit(3), "SystemExit", "handler raised SystemExit(3)"),
    (KeyboardInterrupt(), "KeyboardInterrupt", "handler raised KeyboardInterrupt"),
    (BaseException("bare"), "BaseException", "handler raised BaseException('bare')"),
])
def test_a_base_exception_from_a_handler_fails_the_step_and_keeps_the_thread(
        worker: tasker_core.Worker, raised: BaseException, error_type: str, message: str) -> None:
    def raises(ctx: tasker_core.StepContext) -> None:
        raise raised

    async def raises_async(ctx: tasker_core.StepContext) -> None:
        raise raised

    tasker_core.register_handler("raises", raises)
    tasker_core.register_handler("raises_async", raises_async)
    steps = [{"name": f"s{i}", "handler": "raises", "max_attempts": 1} for i in range(4)]
    steps.append({"name": "async", "handler": "raises_async", "max_attempts": 1})
    result = worker.run_task(template("base_exception", steps), timeout=20)
    assert result.status == "error"
    for name, step in result.steps.items():
        assert step["error_type"] == error_type, name
        assert step["error"] == (f"{message}; a handler cannot exit or interrupt the worker, so the step failed")
        assert step["attempts"] == 1, "not retried"
    assert worker.handler_threads == 4
    assert worker.run_task(LINEAR, context={"even_number": 2}).is_complete


def test_a_context_or_timeout_of_the_wrong_type_is_refused(worker: tasker_core.Worker) -> None:
    with pytest.raises(tasker_core.ConversionError, match="^context must be a dict \\(a JSON object\\), got list$"):
        worker.run_task(LINEAR, context=[("even_number", 2)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^timeout must be a number of seconds or None, got str$"):
        worker.run_task(LINEAR, context={"even_number": 2}, timeout="x")  # type: ignore[arg-type]


CTRL_C = r"""
import os, signal, sys, threading, time
import tasker_core
started = threading.Event()
def blocks(ctx):
    started.set()
    time.sleep(60)
tasker_core.register_handler("blocks", blocks)
w = tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": False})
threading.Thread(target=lambda: (started.wait(), time.sleep(0.2), os.kill(os.getpid(), signal.SIGINT)),
                 daemon=True).start()
t = {"namespace": "py", "name": "ctrl_c", "steps": [{"name": "s", "handler": "blocks"}]}
try:
    w.run_task(t, timeout=30)
except KeyboardInterrupt:
    print("interrupted", flush=True)
w.stop()
print("stopped", flush=True)
"""


def test_ctrl_c_cancels_the_callers_task_so_stop_does_not_wait_for_its_steps() -> None:
    out = run_python(CTRL_C, {"RUST_LOG": "info"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted", "stopped"]
    assert "task.cancelled: its caller stopped waiting" in out.stderr
    assert "cancelled_steps=1" in out.stderr
    stopped = [line for line in out.stderr.splitlines() if "Worker stopped" in line]
    assert stopped and "abandoned_steps=0" in stopped[0], out.stderr


SILENT_COLLECTOR = r"""
import socket, threading
import tasker_core
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
held = []
threading.Thread(target=lambda: [held.append(server.accept()) for _ in iter(int, 1)], daemon=True).start()
endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
tasker_core.register_handler("noop", lambda ctx: 1)
w = tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": True, "endpoint": endpoint})
t = {"namespace": "py", "name": "silent", "steps": [{"name": f"s{i}", "handler": "noop"} for i in range(9)]}
for _ in range(10):
    assert w.run_task(t).is_complete
for call in (tasker_core.flush_telemetry, w.stop):
    try:
        call(raise_on_telemetry_error=True)
        print("no error")
    except tasker_core.TelemetryError as e:
        print(e)
"""


def test_a_strict_flush_and_stop_against_a_collector_that_never_answers_raise_with_every_lost_span_counted() -> None:
    # 10 tasks of 9 steps: 190 spans against an export queue of 64 and one export at a time.
    # The export timeout outlasts both 5 s bounds, so the export is still waiting at each.
    # The batch being sent has left the queue, so 64 to 128 spans wait and the rest drop.
    out = run_python(SILENT_COLLECTOR, {"OTEL_BSP_MAX_QUEUE_SIZE": "64", "OTEL_BSP_MAX_CONCURRENT_EXPORTS": "1",
                                        "OTEL_EXPORTER_OTLP_TIMEOUT": "30000"})
    assert out.returncode == 0, out.stderr
    flush, stop = out.stdout.strip().splitlines()
    m = re.fullmatch(r"flushing telemetry failed: timed out after 5000 ms; (\d+) span\(s\) were dropped because the "
                     r"export queue was full \(the collector did not keep up; see OTEL_BSP_MAX_QUEUE_SIZE\); "
                     r"(\d+) span\(s\) are still waiting for the collector", flush)
    assert m, flush
    dropped, waiting = int(m[1]), int(m[2])
    assert dropped + waiting == 190, flush
    assert 64 <= waiting <= 128, flush
    assert stop == ("shutting telemetry down failed: timed out after 5000 ms; "
                    f"{waiting} span(s) still waiting for the collector were lost")


COLLECTOR_DOWN = r"""
import socket
import tasker_core
port = socket.socket(); port.bind(("127.0.0.1", 0)); free = port.getsockname()[1]; port.close()
tasker_core.register_handler("noop", lambda ctx: 1)
w = tasker_core.bootstrap_worker(telemetry={"enabled": True, "endpoint": f"http://127.0.0.1:{free}"})
assert w.run_task({"namespace": "py", "name": "down", "steps": [{"name": "a", "handler": "noop"}]}).is_complete
report = w.stop()
print(report.spans_exported, report.spans_failed, report.spans_dropped, report.complete)
print(report.error)
print(w.stop().error)
"""


def test_stop_against_a_collector_that_is_down_returns_the_loss_and_warns_once() -> None:
    out = run_python(COLLECTOR_DOWN)
    assert out.returncode == 0, out.stderr
    counts, error, again = out.stdout.strip().splitlines()
    assert counts == "0 3 0 False"
    assert re.fullmatch(r"shutting telemetry down failed: 3 span\(s\) could not be exported: "
                        r"cannot reach http://127\.0\.0\.1:\d+/v1/traces: .+", error), error
    assert again == "None"  # a second stop reports nothing new
    warns = [line for line in out.stderr.splitlines() if " WARN " in line]
    assert len(warns) == 1, out.stderr
    assert "Telemetry was not fully exported; nothing else failed" in warns[0]
    assert "spans_failed=3" in warns[0] and "operation=\"shutdown\"" in warns[0], warns[0]
    assert "Traceback" not in out.stderr


STOP_MESSAGE = ("stop was called from inside a step handler, which the stop would wait for; stop the "
                "worker from outside its handlers (after run_task returns, or from another thread)")


def test_stop_from_inside_a_handler_is_refused_and_the_worker_keeps_running(worker: tasker_core.Worker) -> None:
    def stops_its_worker(ctx: tasker_core.StepContext) -> str:
        try:
            worker.stop()
        except tasker_core.WorkerStoppedError as e:
            return f"{type(e).__name__}: {e}"
        return "stopped"

    tasker_core.register_handler("stops_its_worker", stops_its_worker)
    tmpl = {"namespace": "py", "name": "stop_in_handler", "steps": [{"name": "a", "handler": "stops_its_worker"}]}
    result = run_in_thread(worker, tmpl)
    assert result.step_results == {"a": f"WorkerStoppedError: {STOP_MESSAGE}"}
    assert not worker.stopped
    assert run_in_thread(worker, tmpl).is_complete  # every handler thread still serves
