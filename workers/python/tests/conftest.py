"""Shared fixtures. These tests run against the INSTALLED wheel, in a fresh venv."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import tasker_core

if not Path(tasker_core.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
    raise RuntimeError(f"tasker_core was imported from {tasker_core.__file__}, not the venv at {sys.prefix}")

TEMPLATES = Path(__file__).resolve().parents[2] / "rust" / "templates"
LINEAR = TEMPLATES / "linear_workflow.yaml"
DIAMOND = TEMPLATES / "diamond_workflow.yaml"


class Square(tasker_core.StepHandler):
    def call(self, context: tasker_core.StepContext) -> tasker_core.StepResult:
        deps = list(context.dependency_results.values())
        n = deps[0] if deps else context.input["even_number"]
        return self.success(n * n, metadata={"handler": "square"})


class SumDependencies(tasker_core.StepHandler):
    def call(self, context: tasker_core.StepContext) -> tasker_core.StepResult:
        return self.success(sum(context.dependency_results.values()))


def template(name: str, steps: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"namespace": "python_test", "name": name, "version": "1.0.0", "steps": steps}


def run_python(code: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


@dataclass
class Span:
    trace_id: str = ""
    parent_id: str = ""
    span_id: str = ""
    name: str = ""
    attributes: Dict[str, str] = field(default_factory=dict)
    resource: Dict[str, str] = field(default_factory=dict)
    events: List[Dict[str, Any]] = field(default_factory=list)
    links: List[Dict[str, str]] = field(default_factory=list)

    def has_event(self, name: str) -> bool:
        return any(e["name"] == name for e in self.events)


class Collector:
    """rotel, a real OTLP collector, on free ports; parses the spans it prints."""

    def __init__(self) -> None:
        agent = os.environ.get("ROTEL_AGENT")
        if not agent:
            raise RuntimeError("ROTEL_AGENT is not set: run the Python tests through `make test-python`")
        grpc, http = free_port(), free_port()
        self._out = tempfile.NamedTemporaryFile(prefix="tasker-rotel-", suffix=".log", delete=False)
        self._proc = subprocess.Popen(
            [agent, "start", "--exporter", "blackhole", "--debug-log", "traces", "--debug-log-verbosity", "detailed",
             "--otlp-grpc-endpoint", f"127.0.0.1:{grpc}", "--otlp-http-endpoint", f"127.0.0.1:{http}"],
            stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.http_endpoint = f"http://127.0.0.1:{http}"
        for port in (http, grpc):
            wait_listening(port, 20, lambda: f"the collector did not listen:\n{self.output()}")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)

    def output(self) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", Path(self._out.name).read_text())

    def spans(self) -> List[Span]:
        return parse_spans(self.output())

    def wait_for(self, done: Callable[[List[Span]], bool], timeout: float = 10.0) -> List[Span]:
        deadline = time.time() + timeout
        while True:
            s = self.spans()
            if done(s) or time.time() > deadline:
                return s
            time.sleep(0.05)


def parse_spans(text: str) -> List[Span]:
    spans: List[Span] = []
    resource: Dict[str, str] = {}
    section = None
    fields = {"Trace ID": "trace_id", "Parent ID": "parent_id", "ID": "span_id", "Name": "name"}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("ResourceSpans #"):
            resource, section = {}, None
        elif line == "Resource attributes:":
            section = "resource"
        elif line.startswith("ScopeSpans #"):
            section = None
        elif line.startswith("Span #"):
            spans.append(Span(resource=dict(resource)))
            section = None
        elif line in ("Attributes:", "Events:", "Links:"):
            section = line[:-1].lower()
        elif line.startswith("SpanEvent #"):
            spans[-1].events.append({"name": "", "attributes": {}})
        elif line.startswith("SpanLink #"):
            spans[-1].links.append({"trace_id": "", "span_id": ""})
        elif line.startswith("-> ") and ": " in line:
            key, value = line[3:].split(": ", 1)
            m = re.match(r"^(?:Str|Int|Bool|Double)\((.*)\)$", value)
            value = m.group(1) if m else value
            if section == "resource":
                resource[key] = value
            elif section == "attributes":
                spans[-1].attributes[key] = value
            elif section == "events":
                ev = spans[-1].events[-1]
                if key == "Name":
                    ev["name"] = value
                elif key != "Timestamp":
                    ev["attributes"][key] = value
            elif section == "links":
                link = spans[-1].links[-1]
                if key == "Trace ID":
                    link["trace_id"] = value
                elif key == "ID":
                    link["span_id"] = value
        else:
            m = re.match(r"^(Trace ID|Parent ID|ID|Name)\s*:\s*(.*)$", line)
            if m and spans:
                setattr(spans[-1], fields[m.group(1)], m.group(2).strip())
    return spans


def wait_listening(port: int, seconds: float, failure: Callable[[], str]) -> None:
    """Waits until 127.0.0.1:port accepts a connection; raises with failure() after seconds."""
    deadline = time.time() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(failure())
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def worker(collector: Collector) -> Iterator[tasker_core.Worker]:
    tasker_core.register_handler("square", Square)
    tasker_core.register_handler("sum_dependencies", SumDependencies)
    w = tasker_core.bootstrap_worker(
        concurrency=4,
        handler_timeout=10,
        telemetry={"enabled": True, "endpoint": collector.http_endpoint, "service_name": "tasker-python-worker"},
    )
    yield w
    w.stop()
