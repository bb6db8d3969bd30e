"""A script that never calls stop still exports its spans: atexit flushes."""

from __future__ import annotations

from conftest import LINEAR, Collector, run_python


def test_telemetry_is_flushed_at_exit(collector: Collector) -> None:
    code = f"""
import tasker_core
tasker_core.register_handler("square", lambda c: (list(c.dependency_results.values()) or [c.input["even_number"]])[0] ** 2)
w = tasker_core.bootstrap_worker(telemetry={{"enabled": True, "endpoint": {collector.http_endpoint!r}}})
print(w.run_task({str(LINEAR)!r}, context={{"even_number": 2}}).trace_id)
"""
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    trace_id = p.stdout.strip()
    spans = collector.wait_for(lambda s: sum(x.trace_id == trace_id for x in s) >= 9)
    assert sum(s.trace_id == trace_id for s in spans) == 9
