"""The process worker: bootstrapped once, the same on a second call with the same options,
refused when the options differ, and after stop."""

from __future__ import annotations

import json
import urllib.request

import pytest

import tasker_core
from conftest import LINEAR, Square


def test_a_second_bootstrap_returns_the_same_worker_and_calls_after_stop_raise() -> None:
    tasker_core.register_handler("square", Square)
    first = tasker_core.bootstrap_worker(concurrency=2)
    again = tasker_core.bootstrap_worker(concurrency=2)
    assert again is first
    assert first.worker_id.startswith("worker-")
    assert tasker_core.current_worker() is first
    first.stop()
    first.stop()  # idempotent
    assert first.stopped
    assert tasker_core.current_worker() is None
    with pytest.raises(tasker_core.WorkerStoppedError, match="^the worker is stopped$"):
        first.run_task(LINEAR, context={"even_number": 2})
    fresh = tasker_core.bootstrap_worker(concurrency=1)
    assert fresh.worker_id != first.worker_id
    assert fresh.run_task(LINEAR, context={"even_number": 2}).is_complete
    fresh.stop()


def test_an_unknown_or_invalid_option_is_a_configuration_error() -> None:
    with pytest.raises(tasker_core.ConfigurationError, match='unknown worker option "concurency"') as info:
        tasker_core.bootstrap_worker(concurency=2)
    assert isinstance(info.value, ValueError)
    with pytest.raises(tasker_core.ConfigurationError) as info:
        tasker_core.bootstrap_worker(telemetry={"protocol": "smoke"})
    assert str(info.value) == 'invalid worker configuration: telemetry protocol "smoke" is not http/protobuf, http/json or grpc'


def test_a_second_bootstrap_with_other_options_raises_naming_each_difference() -> None:
    first = tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": False})
    try:
        with pytest.raises(tasker_core.ConfigurationError) as info:
            tasker_core.bootstrap_worker(concurrency=8, handler_timeout=5, telemetry={"enabled": False})
        assert str(info.value) == (
            f"invalid worker configuration: a worker is already running ({first.worker_id}) with a different "
            "configuration (concurrency: running 2, asked 8; handler_timeout: running 30s, asked 5s); "
            "stop it first, or bootstrap with the same options")
        with pytest.raises(tasker_core.ConfigurationError, match="telemetry service_name differs"):
            tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": False, "service_name": "other"})
        # Options are validated even while a worker runs.
        with pytest.raises(tasker_core.ConfigurationError, match='unknown worker option "concurency"'):
            tasker_core.bootstrap_worker(concurrency=2, concurency=3)
        with pytest.raises(tasker_core.ConfigurationError, match="^telemetry must be a dict, got list$"):
            tasker_core.bootstrap_worker(concurrency=2, telemetry=[])  # type: ignore[arg-type]
        assert tasker_core.bootstrap_worker(concurrency=2, telemetry={"enabled": False}) is first
    finally:
        first.stop()


def test_a_handler_that_is_not_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a StepHandler subclass or instance, or a callable"):
        tasker_core.register_handler("x", 42)  # type: ignore[arg-type]


def test_health_is_served_only_when_asked() -> None:
    tasker_core.register_handler("square", Square)
    w = tasker_core.bootstrap_worker(concurrency=1, web_bind_address="127.0.0.1:0")
    try:
        assert w.web_address is not None
        body = json.loads(urllib.request.urlopen(f"http://{w.web_address}/health", timeout=5).read())
        assert body["status"] == "healthy" and body["worker_id"] == w.worker_id
    finally:
        w.stop()
