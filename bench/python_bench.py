"""Python side of `make bench`: prints one JSON object of measurements.

Run with the installed wheel. Modes: run (round trip and throughput), startup, leak,
native_load, ffi_floor, poller (the spec's 10 ms sleep-poll design), otel_sdk (a pure-Python
opentelemetry-sdk span per handler call)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def one_step(name="noop"):
    return {"namespace": "bench", "name": "one", "steps": [{"name": "s", "handler": name}]}


def many_steps(n, name="noop"):
    return {"namespace": "bench", "name": "many", "steps": [{"name": f"s{i}", "handler": name} for i in range(n)]}


def telemetry(endpoint):
    return {"enabled": True, "endpoint": endpoint, "service_name": "bench-python"} if endpoint else {"enabled": False}


# A worker whose collector fell behind still reports its figures, and says so.
EXPORT_ERROR = []


def stop_quietly(w):
    import tasker_core
    try:
        w.stop(raise_on_telemetry_error=True)
    except tasker_core.TelemetryError as e:
        EXPORT_ERROR.append(str(e))


def mode_run(a):
    import tasker_core
    tasker_core.register_handler("noop", lambda ctx: None)
    w = tasker_core.bootstrap_worker(concurrency=a.concurrency, telemetry=telemetry(a.endpoint))
    for _ in range(min(200, a.samples)):
        w.run_task(one_step())
    samples = []
    for _ in range(a.samples):
        t = time.perf_counter()
        w.run_task(one_step())
        samples.append((time.perf_counter() - t) * 1e6)
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        r = w.run_task(many_steps(a.steps), timeout=600)
        assert r.status == "complete"
        rates.append(a.steps / (time.perf_counter() - t))
    stop_quietly(w)
    return {"p50_us": pct(samples, 50), "p99_us": pct(samples, 99), "mean_us": statistics.mean(samples),
            "throughput_steps_per_s": max(rates)}


def mode_startup(a):
    t0 = time.perf_counter()
    rss0 = rss_kb()
    import tasker_core
    t1 = time.perf_counter()
    rss1 = rss_kb()
    w = tasker_core.bootstrap_worker(concurrency=1, telemetry=telemetry(a.endpoint))
    t2 = time.perf_counter()
    rss2 = rss_kb()
    stop_quietly(w)
    return {"phase1_ms": (t1 - t0) * 1e3, "bootstrap_ms": (t2 - t1) * 1e3,
            "rss_before_kb": rss0, "rss_after_phase1_kb": rss1, "rss_after_bootstrap_kb": rss2}


def mode_native_load(a):
    """Loads only the extension module: dlopen plus its init, which is phase 1 proper
    (console logging, no runtime), without the Python package around it."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("tasker_core")
    so = next(Path(spec.submodule_search_locations[0]).glob("_tasker_core*.so"))
    t0 = time.perf_counter()
    ext = importlib.util.spec_from_file_location("tasker_core._tasker_core", so)
    module = importlib.util.module_from_spec(ext)
    ext.loader.exec_module(module)
    t1 = time.perf_counter()
    return {"native_phase1_ms": (t1 - t0) * 1e3}


def mode_leak(a):
    import tasker_core
    tasker_core.register_handler("noop", lambda ctx: None)
    w = tasker_core.bootstrap_worker(concurrency=a.concurrency, telemetry=telemetry(a.endpoint))
    batch = many_steps(1000)
    w.run_task(batch, timeout=600)
    base = rss_kb()
    for _ in range(max(1, a.steps // 1000)):
        w.run_task(batch, timeout=600)
    grown = rss_kb() - base
    stop_quietly(w)
    return {"steps": max(1, a.steps // 1000) * 1000, "rss_growth_kb": grown, "rss_kb": base + grown}


def mode_ffi_floor(a):
    import tasker_core
    from tasker_core import _tasker_core as native
    f = native.telemetry_state
    for _ in range(1000):
        f()
    n = a.samples * 100
    t = time.perf_counter()
    for _ in range(n):
        f()
    call_us = (time.perf_counter() - t) * 1e6 / n
    # The other direction: Rust calling a no-op function, as it calls a step's handler.
    def noop():
        return None
    native.ffi_floor(noop, 1000)
    t = time.perf_counter()
    native.ffi_floor(noop, n)
    return {"call_us": call_us, "callback_us": (time.perf_counter() - t) * 1e6 / n}


def mode_poller(a):
    """The spec's design: the host polls, sleeping 10 ms whenever nothing is queued."""
    import tasker_core
    from tasker_core import _tasker_core as native
    from tasker_core.event_bridge import wrap_step_execution_event
    from tasker_core.handler import HandlerRegistry
    from tasker_core.subscriber import Subscriber
    reg = HandlerRegistry()
    reg.register("noop", lambda ctx: None)
    w = native.Worker.bootstrap({"concurrency": 1, "telemetry": telemetry(None)})
    w.register_handler("noop")
    sub = Subscriber(w, reg)
    stop = threading.Event()

    def poll_loop():
        while not stop.is_set():
            try:
                e = w.poll_event()
            except tasker_core.WorkerStoppedError:
                return
            if e is None:
                time.sleep(0.010)
            else:
                sub.handle(wrap_step_execution_event(e))

    threading.Thread(target=poll_loop, daemon=True).start()
    samples = []
    for _ in range(max(5, a.samples // 20)):
        t = time.perf_counter()
        w.run_task(one_step(), {}, 30.0)
        samples.append((time.perf_counter() - t) * 1e6)
    stop.set()
    w.stop()
    return {"p50_us": pct(samples, 50), "p99_us": pct(samples, 99)}


def mode_otel_sdk(a):
    """What a user would do instead: one opentelemetry-sdk span per handler call, batched."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-python-sdk"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{a.endpoint}/v1/traces")))
    tracer = provider.get_tracer("bench")

    def handler(i):
        with tracer.start_as_current_span("handler", attributes={"step": i}):
            pass

    n = a.samples * 10
    for i in range(1000):
        handler(i)
    t = time.perf_counter()
    for i in range(n):
        handler(i)
    per_span = (time.perf_counter() - t) * 1e6 / n
    t = time.perf_counter()
    for i in range(n):
        pass
    empty = (time.perf_counter() - t) * 1e6 / n
    provider.shutdown()
    return {"span_us": per_span - empty}


def mode_interop(a):
    """Issue #17's interop: what a step costs more when the application has an SDK configured
    (a batch processor exporting to the same collector), so that each handler runs in a
    `tasker.handler` span. One process, the interop off and on in alternating blocks
    (tasker_core.otel.set_enabled), so that drift cancels out."""
    import tasker_core
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from tasker_core import otel
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-python-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{a.endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    tasker_core.register_handler("noop", lambda ctx: None)
    w = tasker_core.bootstrap_worker(concurrency=1, telemetry=telemetry(a.endpoint))
    for _ in range(400):
        w.run_task(one_step())
    blocks = {False: [], True: []}
    per = max(10, a.samples // 10)
    for _ in range(10):
        for on in (False, True):
            otel.set_enabled(on)
            for _ in range(per):
                t = time.perf_counter()
                w.run_task(one_step())
                blocks[on].append((time.perf_counter() - t) * 1e6)
    otel.set_enabled(True)
    stop_quietly(w)
    provider.shutdown()
    off, on = pct(blocks[False], 50), pct(blocks[True], 50)
    return {"p50_off_us": off, "p50_on_us": on, "cost_us": on - off}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--endpoint", default=None)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--steps", type=int, default=5000)
    a = p.parse_args()
    out = globals()[f"mode_{a.mode}"](a)
    if EXPORT_ERROR:
        out["export_error"] = EXPORT_ERROR[0]
    out.update(language="python", mode=a.mode, telemetry=bool(a.endpoint), concurrency=a.concurrency)
    sys.stdout.write("BENCH " + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
