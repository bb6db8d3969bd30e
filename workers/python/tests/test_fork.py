"""After fork: a clear error for the parent's worker, fresh telemetry for the child's own."""

from __future__ import annotations

import os

import tasker_core
from conftest import LINEAR, Collector, Square


def test_a_forked_child_gets_a_clear_error_then_exports_its_own_spans(collector: Collector) -> None:
    tasker_core.register_handler("square", Square)
    telemetry = {"enabled": True, "endpoint": collector.http_endpoint}
    parent = tasker_core.bootstrap_worker(concurrency=1, telemetry=telemetry)
    parent_result = parent.run_task(LINEAR, context={"even_number": 2})
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        try:
            try:
                parent.run_task(LINEAR)
                error = "none"
            except tasker_core.ForkedWorkerError:
                error = "ForkedWorkerError"
            child = tasker_core.bootstrap_worker(concurrency=1, telemetry=telemetry)
            res = child.run_task(LINEAR, context={"even_number": 4})
            child.stop()
            os.write(wfd, f"{error} {res.status} {res.trace_id} {os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(wfd)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    error, child_status, child_trace, child_pid = os.read(r, 4096).decode().split()
    assert error == "ForkedWorkerError"
    assert child_status == "complete"
    assert child_trace != parent_result.trace_id
    parent.stop()
    spans = collector.wait_for(lambda s: sum(x.trace_id == child_trace for x in s) >= 9)
    child_spans = [s for s in spans if s.trace_id == child_trace]
    assert len(child_spans) == 9
    assert child_spans[0].resource["process.pid"] == child_pid


def test_after_fork_parent_and_child_never_share_ids_and_the_child_keeps_its_own_service_name(
        collector: Collector) -> None:
    tasker_core.register_handler("square", Square)
    parent = tasker_core.bootstrap_worker(
        concurrency=1, telemetry={"enabled": True, "endpoint": collector.http_endpoint, "service_name": "fork-parent"})
    parent.run_task(LINEAR, context={"even_number": 2})  # seeds the id generators before the fork
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        try:
            child = tasker_core.bootstrap_worker(
                concurrency=1,
                telemetry={"enabled": True, "endpoint": collector.http_endpoint, "service_name": "fork-child"})
            res = child.run_task(LINEAR, context={"even_number": 4})
            child.stop()
            os.write(wfd, f"{res.trace_id} {res.task_uuid}".encode())
        finally:
            os._exit(0)
    os.close(wfd)
    parent_result = parent.run_task(LINEAR, context={"even_number": 2})
    _, status = os.waitpid(pid, 0)
    assert status == 0
    child_trace, child_task = os.read(r, 4096).decode().split()
    parent.stop()
    assert child_trace != parent_result.trace_id
    assert child_task != parent_result.task_uuid
    spans = collector.wait_for(lambda s: sum(x.trace_id in (child_trace, parent_result.trace_id) for x in s) >= 18)
    child_spans = [s for s in spans if s.trace_id == child_trace]
    parent_spans = [s for s in spans if s.trace_id == parent_result.trace_id]
    assert len(child_spans) == 9 and len(parent_spans) == 9
    assert not {s.span_id for s in child_spans} & {s.span_id for s in parent_spans}
    assert {s.resource["service.name"] for s in child_spans} == {"fork-child"}
    assert {s.resource["service.name"] for s in parent_spans} == {"fork-parent"}
