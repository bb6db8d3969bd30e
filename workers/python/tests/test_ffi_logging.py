"""Phase 1 at import, logging through the Rust pipeline, and Rust records into Python."""

from __future__ import annotations

import logging
import time

import pytest

import tasker_core
from conftest import LINEAR, run_python


def test_console_logging_works_from_import_before_any_bootstrap() -> None:
    p = run_python("import tasker_core", {"TASKER_ENV": "test", "TELEMETRY_ENABLED": "false"})
    assert p.returncode == 0, p.stderr
    line = next(l for l in p.stderr.splitlines() if "Console-only logging initialized (FFI-safe mode)" in l)
    for field in ("environment=test", "opentelemetry_enabled=false", 'context="ffi_initialization"'):
        assert field in line
    assert "FFI console logging initialized (no telemetry)" in p.stderr


def test_with_telemetry_enabled_import_still_logs_and_says_export_is_deferred() -> None:
    p = run_python("import tasker_core; tasker_core.tracing.info('before bootstrap')", {"TELEMETRY_ENABLED": "true"})
    assert p.returncode == 0, p.stderr
    assert "Console-only logging initialized (FFI-safe mode)" in p.stderr
    assert "TAS-65: Telemetry enabled - deferring OpenTelemetry export to runtime context" in p.stderr
    assert "before bootstrap" in p.stderr


def test_a_handlers_records_carry_its_trace_and_span_ids() -> None:
    code = f"""
import logging, sys, tasker_core
h = logging.StreamHandler(sys.stdout)
h.setFormatter(logging.Formatter("%(message)s trace=%(trace_id)s span=%(span_id)s"))
h.addFilter(tasker_core.TraceContextFilter())
log = logging.getLogger("app"); log.addHandler(h); log.setLevel(logging.INFO)
def handler(ctx):
    log.info("from the handler")
    tasker_core.tracing.info("through rust", step=ctx.step_name)
    print("ids", ctx.trace_id, ctx.span_id)
    return 1
tasker_core.register_handler("h", handler)
w = tasker_core.bootstrap_worker(concurrency=1)
w.run_task({{"namespace": "n", "name": "t", "steps": [{{"name": "s", "handler": "h"}}]}})
log.info("outside")
w.stop()
"""
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    _, trace_id, span_id = next(l for l in p.stdout.splitlines() if l.startswith("ids ")).split()
    assert f"from the handler trace={trace_id} span={span_id}" in p.stdout
    assert "outside trace=None span=None" in p.stdout
    rust_line = next(l for l in p.stderr.splitlines() if "through rust" in l)
    assert f"trace_id={trace_id}" in rust_line and f"span_id={span_id}" in rust_line


def test_rust_records_are_forwarded_into_python_logging_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tasker_core.rust")
    tasker_core.register_handler("square", lambda ctx: (list(ctx.dependency_results.values()) or [ctx.input["even_number"]])[0] ** 2)
    tasker_core.forward_rust_logs(level="info")
    w = tasker_core.bootstrap_worker(concurrency=2)
    try:
        # Handlers log through Python while Rust threads log: no deadlock on the GIL.
        assert w.run_task(str(LINEAR), context={"even_number": 2}).is_complete
        deadline = time.time() + 5
        while time.time() < deadline and not any(r.getMessage() == "task.completed" for r in caplog.records):
            time.sleep(0.05)
    finally:
        tasker_core.stop_forwarding_rust_logs()
        w.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "tasker_core.rust"]
    assert messages.count("step.execution_started") == 4
    assert "task.completed" in messages
    started = next(r for r in caplog.records if r.getMessage() == "step.execution_started")
    assert started.rust_span == "worker.step_execution"  # type: ignore[attr-defined]
    assert started.rust_target == "tasker_worker::processor"  # type: ignore[attr-defined]


def test_an_unknown_log_level_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown log level 'loud'|unknown log level \"loud\""):
        tasker_core.tracing.log("loud", "x")


def test_a_rust_panic_becomes_an_internal_error_not_a_crash() -> None:
    with pytest.raises(tasker_core.InternalError) as info:
        tasker_core._native.raise_rust_panic("deliberate")
    assert str(info.value) == "Rust panic in tasker-core: deliberate"
    assert isinstance(info.value, RuntimeError)
