"""Spans from the Python worker reach a collector behind a real TLS endpoint (socat,
OpenSSL), trusting the CA given as ``telemetry={"certificate": ...}``."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

import tasker_core
from conftest import LINEAR, Collector, Square, free_port, wait_listening

SCRIPT = Path(__file__).resolve().parents[3] / "testkit" / "bin" / "tls-endpoint"


class TlsEndpoint:
    def __init__(self, target_url: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="tasker-tls-")
        subprocess.run([str(SCRIPT), "certs", self.dir], check=True)
        port = free_port()
        self._proc = subprocess.Popen([str(SCRIPT), "serve", self.dir, str(port), target_url.rsplit(":", 1)[1]],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"https://localhost:{port}"
        wait_listening(port, 10, lambda: f"socat did not listen on {port}")

    @property
    def ca(self) -> str:
        return str(Path(self.dir) / "ca.pem")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


@pytest.fixture(scope="module")
def tls(collector: Collector) -> Iterator[TlsEndpoint]:
    t = TlsEndpoint(collector.http_endpoint)
    yield t
    t.stop()


def test_spans_reach_a_collector_behind_tls_with_a_private_ca(collector: Collector, tls: TlsEndpoint) -> None:
    tasker_core.register_handler("square", Square)
    w = tasker_core.bootstrap_worker(
        telemetry={"enabled": True, "traces_endpoint": f"{tls.url}/v1/traces", "certificate": tls.ca,
                   "compression": "gzip", "service_name": "tasker-python-tls"}
    )
    result = w.run_task(LINEAR, context={"even_number": 2})
    assert result.is_complete
    w.stop()

    def execs(spans: list) -> list:
        return [s for s in spans if s.trace_id == result.trace_id and s.name == "worker.step_execution"]

    spans = collector.wait_for(lambda s: len(execs(s)) >= 4)
    assert len(execs(spans)) == 4, collector.output()
    assert execs(spans)[0].resource["service.name"] == "tasker-python-tls"


def test_a_bad_compression_option_is_a_configuration_error() -> None:
    with pytest.raises(tasker_core.ConfigurationError) as err:
        tasker_core.bootstrap_worker(telemetry={"enabled": True, "compression": "brotli"})
    assert str(err.value) == 'invalid worker configuration: telemetry compression "brotli" is not gzip or none'
