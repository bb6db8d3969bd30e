"""`make bench`: every figure in one run on this machine, written to docs/benchmarks.md,
bench/results.json and bench/chart.png. `--smoke` runs tiny counts into a temporary directory
(it is part of `make test`, so the benchmarks never rot).

Each language's bench script prints one `BENCH {json}` line per invocation; this driver
starts a real collector (rotel, blackhole exporter) for the telemetry-on runs, runs the
matrix, and compares each figure with its target."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import distributed

ROOT = Path(__file__).resolve().parents[1]

TARGETS = {
    "roundtrip_p50_us": {"rust": 20.0, "ruby": 50.0, "python": 50.0},
    "throughput_steps_per_s": {"ruby": 20000.0, "python": 20000.0},
    "telemetry_cost_us": 5.0,
    "phase1_ms": 1.0,
    "bootstrap_ms": 10.0,
    "rss_growth_kb": 5 * 1024,
    "telemetry_vs_sdk_ratio": 0.25,
}


free_port = distributed.free_port


class Collector:
    def __init__(self) -> None:
        http, grpc = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{http}"
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts/rotel-agent"), "start", "--exporter", "blackhole",
             "--otlp-grpc-endpoint", f"127.0.0.1:{grpc}", "--otlp-http-endpoint", f"127.0.0.1:{http}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", http), timeout=0.2).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("rotel did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Runner:
    def __init__(self, env: Dict[str, str], counts: Dict[str, int]) -> None:
        self.env = {**os.environ, **env, "NO_COLOR": "1", "RUST_LOG": "error", "LOG_LEVEL": "error"}
        self.counts = counts
        self.commands = {
            "rust": [str(ROOT / "target/release/examples/bench")],
            "ruby": ["ruby", str(ROOT / "bench/ruby_bench.rb")],
            "python": [env["PY_BENCH_PYTHON"], str(ROOT / "bench/python_bench.py")],
            "node": ["node", str(Path(env["NODE_BENCH_DIR"]) / "node_bench.mjs")],
        }
        self.cwd = {"node": env["NODE_BENCH_DIR"]}

    def run(self, lang: str, mode: str, endpoint: Optional[str] = None, concurrency: int = 1,
            steps: Optional[int] = None) -> Dict[str, Any]:
        cmd = self.commands[lang] + [mode, "--concurrency", str(concurrency),
                                     "--samples", str(self.counts["samples"]),
                                     "--steps", str(steps or self.counts["steps"])]
        if endpoint:
            cmd += ["--endpoint", endpoint]
        if lang == "node":
            cmd = ["node", "--expose-gc", *cmd[1:]]
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=self.cwd.get(lang), timeout=1800)
        line = next((l for l in p.stdout.splitlines() if l.startswith("BENCH ")), None)
        if p.returncode != 0 or line is None:
            raise RuntimeError(f"{lang} {mode} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        result = json.loads(line[6:])
        print(f"  {lang:<6} {mode:<9} telemetry={'on ' if endpoint else 'off'} c={concurrency}: "
              + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
                          if k not in ("language", "mode", "telemetry", "concurrency")), flush=True)
        return result


def measure(runner: Runner, endpoint: str, leak_steps: int) -> Dict[str, Any]:
    langs = ["rust", "ruby", "python", "node"]
    r: Dict[str, Any] = {"run": [], "startup": [], "leak": [], "baselines": {}}
    for lang in langs:
        # Off and on alternate, `rounds` times each, and the run with the median p50 stands
        # for its row: on this shared VM one run can drift ±30%, which would otherwise flip a
        # telemetry on-minus-off difference or a target's verdict.
        runs: Dict[Any, List[Dict[str, Any]]] = {}
        for _ in range(runner.counts["rounds"]):
            for tel in (None, endpoint):
                for c in (1, 4):
                    runs.setdefault((tel, c), []).append(runner.run(lang, "run", tel, c))
        for rows in runs.values():
            rows.sort(key=lambda x: x["p50_us"])
            row = dict(rows[len(rows) // 2])
            row["p50_us_runs"] = [x["p50_us"] for x in rows]
            r["run"].append(row)
        for tel in (None, endpoint):
            r["startup"].append(runner.run(lang, "startup", tel))
        r["leak"].append(runner.run(lang, "leak", endpoint, 4, steps=leak_steps))
    # What V8's warm-up takes with no telemetry at all, beside Node's telemetry-on run.
    r["baselines"]["leak_off_node"] = runner.run("node", "leak", None, 4, steps=leak_steps)
    for lang in ("ruby", "python"):
        native = runner.run(lang, "native_load")
        for row in r["startup"]:
            if row["language"] == lang:
                row["native_phase1_ms"] = native["native_phase1_ms"]
    b = r["baselines"]
    for lang in ("ruby", "python", "node"):
        b[f"ffi_floor_{lang}"] = runner.run(lang, "ffi_floor")
    for lang in ("ruby", "python"):
        b[f"poller_{lang}"] = runner.run(lang, "poller")
    for lang in ("python", "node"):
        b[f"otel_sdk_{lang}"] = runner.run(lang, "otel_sdk", endpoint)
    for lang in ("python", "node"):
        b[f"interop_{lang}"] = runner.run(lang, "interop", endpoint)
    b["sdk_pipeline_rust"] = runner.run("rust", "sdk_pipeline", endpoint, 4, steps=leak_steps)
    b["otel_sdk_export_node"] = runner.run("node", "otel_sdk_export", endpoint, steps=leak_steps)
    b["telemetry_ab_node"] = runner.run("node", "telemetry_ab", endpoint)
    web = ROOT / "target/wasm-pkg/web/tasker_core_wasm_bg.wasm"
    if web.exists():
        import gzip
        b["web_bundle"] = {"bytes": web.stat().st_size, "gzip_bytes": len(gzip.compress(web.read_bytes(), 6))}
    return r


def find(rows: List[Dict[str, Any]], **kw: Any) -> Dict[str, Any]:
    return next(x for x in rows if all(x.get(k) == v for k, v in kw.items()))


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else "**missed**"


def spans_lost(row: Dict[str, Any]) -> str:
    """What the telemetry-on run lost to a collector that fell behind; Rust counts exactly."""
    if not row.get("telemetry"):
        return ""
    if "spans_dropped" in row:
        total = row["spans_dropped"] + row.get("spans_exported", 0)
        return f"{row['spans_dropped']:,} of {total:,}"
    return "some (below)" if row.get("export_error") else "none reported"


def derive(r: Dict[str, Any]) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    for lang in ("rust", "ruby", "python", "node"):
        off = find(r["run"], language=lang, telemetry=False, concurrency=1)
        on = find(r["run"], language=lang, telemetry=True, concurrency=1)
        d[f"telemetry_cost_us_{lang}"] = on["p50_us"] - off["p50_us"]
    for lang in ("python", "node"):
        sdk = r["baselines"][f"otel_sdk_{lang}"]["span_us"]
        d[f"telemetry_vs_sdk_ratio_{lang}"] = d[f"telemetry_cost_us_{lang}"] / sdk if sdk > 0 else float("inf")
    return d


def write_markdown(path: Path, r: Dict[str, Any], d: Dict[str, Any], meta: Dict[str, Any]) -> None:
    L: List[str] = []
    L.append("# Benchmarks\n")
    L.append(f"Measured {meta['date']} on this project's machine kind: {meta['machine']}. "
             f"Every figure below comes from one run of `make bench` (`{meta['command']}`); "
             "`bench/results.json` holds the same figures, and `bench/chart.png` draws them. "
             "Targets are goals, not test assertions.\n")
    L.append("**Round trip** is one single-step task through the public API, from `run_task` to its "
             "result: the task's root span, the step dispatched over the bridge to the host's no-op "
             "handler, the completion back, the task's end. **Throughput** is one task of "
             f"{meta['steps']} independent no-op steps. Telemetry on exports every span to a real "
             "local collector (rotel, blackhole exporter). Each row is the median of "
             f"{meta.get('rounds', 1)} runs (off and on alternating); the p50s of all of them are in "
             "`bench/results.json` (`p50_us_runs`).\n")
    L.append("## Step round trip, per worker\n")
    L.append("| worker | telemetry | concurrency | p50 µs | p99 µs | steps/s | spans lost | target |")
    L.append("|---|---|---|---|---|---|---|---|")
    for row in r["run"]:
        lang = row["language"]
        notes = []
        t = TARGETS["roundtrip_p50_us"].get(lang)
        if t and row["concurrency"] == 1:
            notes.append(f"p50 ≤ {t:g} µs: {verdict(row['p50_us'], t)}")
        tt = TARGETS["throughput_steps_per_s"].get(lang)
        if tt and row["concurrency"] == 1 and row["telemetry"]:
            notes.append(f"≥ {tt:,.0f} steps/s (1 host thread, telemetry on): "
                         f"{verdict(row['throughput_steps_per_s'], tt, lower_is_better=False)}")
        L.append(f"| {lang} | {'on' if row['telemetry'] else 'off'} | {row['concurrency']} | "
                 f"{row['p50_us']:.1f} | {row['p99_us']:.1f} | {row['throughput_steps_per_s']:,.0f} | "
                 f"{spans_lost(row)} | {'; '.join(notes)} |")
    L.append("\n## What telemetry costs per step\n")
    L.append("p50 round trip with telemetry on minus off, at concurrency 1; and that cost beside "
             "one span of the OpenTelemetry SDK a user would reach for instead (Python's "
             "opentelemetry-sdk, Node's @opentelemetry/sdk-trace-base, each with a batch processor "
             "exporting to the same collector). A single-step task records three spans (root, execution, "
             "completion, with their events) in Rust. On this shared 2-core machine, single-step round "
             "trips vary by about ±20 µs from run to run even as medians of several runs, so a negative cost is "
             "noise: it is shown as measured and marked *within noise*, not as met; a positive one is "
             "judged against the target as measured.\n")
    L.append("| worker | telemetry cost µs/step | target ≤ 5 µs | SDK span µs | ratio | target ≤ 0.25× |")
    L.append("|---|---|---|---|---|---|")
    for lang in ("rust", "ruby", "python", "node"):
        cost = d[f"telemetry_cost_us_{lang}"]
        sdk = r["baselines"].get(f"otel_sdk_{lang}", {}).get("span_us")
        ratio = d.get(f"telemetry_vs_sdk_ratio_{lang}")
        noise = cost < 0
        cost_verdict = "*within noise*" if noise else verdict(cost, TARGETS["telemetry_cost_us"])
        ratio_text = "" if ratio is None else ("n/a" if noise else f"{ratio:.2f}×")
        ratio_verdict = "" if ratio is None else ("*within noise*" if noise else verdict(ratio, TARGETS["telemetry_vs_sdk_ratio"]))
        L.append(f"| {lang} | {cost:.1f} | {cost_verdict} | {'' if sdk is None else f'{sdk:.1f}'} | "
                 f"{ratio_text} | {ratio_verdict} |")
    node_ratio = d.get("telemetry_vs_sdk_ratio_node")
    node_leak = next((x for x in r["leak"] if x["language"] == "node"), None)
    if node_ratio is not None and node_leak:
        growth = node_leak["rss_growth_kb"] / 1024
        ratio_note = ("*within noise*" if d["telemetry_cost_us_node"] < 0
                      else verdict(node_ratio, 1.0))
        L.append(f"\nNode against issue #15's own targets: telemetry cost (the run medians above) "
                 f"{node_ratio:.2f}× one Node SDK span made in a loop of its own (≤ 1×: {ratio_note}; measured "
                 f"alike, below); RSS growth over {node_leak['steps']:,} steps with the default "
                 f"exporter {growth:.1f} MiB (target < 20 MiB: {verdict(growth, 20.0)}).")
        off = r["baselines"].get("leak_off_node")
        if "warmup_growth_kb" in node_leak and off:
            L.append(f"Node's RSS growth is measured after a warm-up of {node_leak['warmup_steps']:,} steps, "
                     "in which V8 sizes its heap to the allocation rate (the young generation's semi-spaces "
                     "grow to 16 MiB each, and a full GC does not return them). In that warm-up RSS grew "
                     f"{node_leak['warmup_growth_kb'] / 1024:.1f} MiB with telemetry on and "
                     f"{off['warmup_growth_kb'] / 1024:.1f} MiB with telemetry off; after it, over "
                     f"{off['steps']:,} steps, {growth:.1f} MiB on and {off['rss_growth_kb'] / 1024:.1f} MiB off. "
                     "Before issue #15 the figure was taken after a 1,000-step warm-up, which counted V8's "
                     "sizing as growth (81.6 MiB in the last run so measured).")
        ab = r["baselines"].get("telemetry_ab_node")
        if ab:
            ratio = ab["cost_us"] / ab["sdk_span_us"] if ab["sdk_span_us"] > 0 else float("inf")
            L.append(f"\n**Measured alike, in one process** (`node_bench.mjs telemetry_ab`): {ab['rounds']} rounds, "
                     f"each of three blocks of {ab['steps_per_block']:,} single-step tasks in turn: telemetry off; "
                     "telemetry on; telemetry off with the handler making one span of Node's SDK "
                     "(`@opentelemetry/sdk-trace-base`, one attribute, a batch processor exporting to the same "
                     "collector), as an application would for each step instead. A cost is the median over the "
                     "rounds of a block's p50 minus the same round's off block. Telemetry "
                     f"{ab['cost_us']:.1f} µs a step (three spans, five events, ~18 attributes), one SDK span "
                     f"{ab['sdk_span_us']:.1f} µs a step (p50 off {ab['p50_off_us']:.1f}, on {ab['p50_on_us']:.1f}, "
                     f"SDK span {ab['p50_sdk_us']:.1f} µs): **{ratio:.2f}×** one Node SDK span "
                     f"(issue #15's target ≤ 1×: {'*within noise*' if ab['cost_us'] < 0 else verdict(ratio, 1.0)}). The SDK span above, made in a loop of "
                     "its own, costs less than it does in a step: there all but the first 2,048 of its "
                     "spans are dropped unexported, and a dropped span dies young, where a kept one waits in "
                     "the batch processor's queue through V8's young-generation collections.")
        peer = r["baselines"].get("otel_sdk_export_node")
        if peer and off and "cpu_us_per_step" in node_leak:
            per_step = node_leak["cpu_us_per_step"] - off["cpu_us_per_step"]
            spans_per_step = 2 + 1 / 1000
            L.append(f"\nThe SDK span above is only queued: in that loop its batch processor never runs, and "
                     "all but its first 2,048 spans are dropped. Spans that are exported cost more: "
                     f"{peer['cpu_us_per_span']:.1f} µs of CPU each for the SDK ({peer['exported']:,} of "
                     f"{peer['spans']:,} reached the collector, yielding to the event loop every 100 spans), "
                     f"against {per_step / spans_per_step:.1f} µs for each of ours, with their attributes and "
                     f"events ({per_step:.1f} µs a step, on minus off, 100k steps at concurrency 4, "
                     f"{'none lost' if not node_leak.get('export_error') else node_leak['export_error']}): "
                     f"{per_step / spans_per_step / peer['cpu_us_per_span']:.2f}× per exported span, "
                     f"{per_step / peer['cpu_us_per_span']:.2f}× per step.")
    interop = [(lang, r["baselines"].get(f"interop_{lang}")) for lang in ("python", "node")]
    if all(x for _, x in interop):
        L.append("\n### The application's own OpenTelemetry (issue #17)\n")
        L.append("With an SDK registered by the application (a batch processor to the same collector), each "
                 "handler runs in a `tasker.handler <step>` span under the step's execution span. What that "
                 "adds to a one-step task, p50, measured in one process with the interop off and on in "
                 "alternating blocks (`tasker_core.otel.set_enabled`, `bootstrapWorker({ openTelemetry })`):\n")
        L.append("| worker | p50 interop off µs | p50 on µs | cost µs/step | one SDK span µs |")
        L.append("|---|---|---|---|---|")
        for lang, x in interop:
            sdk = r["baselines"].get(f"otel_sdk_{lang}", {}).get("span_us")
            L.append(f"| {lang} | {x['p50_off_us']:.1f} | {x['p50_on_us']:.1f} | {x['cost_us']:.1f} | "
                     f"{'' if sdk is None else f'{sdk:.1f}'} |")
        L.append("\nThe handler span is one span of the application's SDK, with three attributes, started "
                 "from the step's traceparent and entered as the current context; a cost near one SDK span "
                 "is what it can cost.")
    L.append("\n## Baselines\n")
    L.append("| baseline | figure |")
    L.append("|---|---|")
    for lang in ("ruby", "python", "node"):
        floor = r["baselines"][f"ffi_floor_{lang}"]
        L.append(f"| floor: one bare call from Rust into a no-op {lang} function and back "
                 "(how the worker calls a handler) | "
                 f"{floor['callback_us']:.3f} µs |")
        L.append(f"| floor: one bare call from {lang} into the extension and back | "
                 f"{floor['call_us']:.3f} µs |")
    for lang in ("ruby", "python"):
        p = r["baselines"][f"poller_{lang}"]
        ours = find(r["run"], language=lang, telemetry=False, concurrency=1)
        L.append(f"| the spec's design in {lang}: poll, sleep 10 ms when idle (round trip) | "
                 f"p50 {p['p50_us']:,.0f} µs, p99 {p['p99_us']:,.0f} µs (ours: p50 {ours['p50_us']:.1f} µs) |")
    for lang in ("python", "node"):
        L.append(f"| {lang} OpenTelemetry SDK: one span per handler call, batch processor | "
                 f"{r['baselines'][f'otel_sdk_{lang}']['span_us']:.1f} µs/span |")
    L.append("\n## Start-up and memory\n")
    L.append("| worker | telemetry | phase 1 ms (target ≤ 1) | bootstrap ms (target ≤ 10) | RSS after phase 1 | RSS after bootstrap |")
    L.append("|---|---|---|---|---|---|")
    for row in r["startup"]:
        L.append(f"| {row['language']} | {'on' if row['telemetry'] else 'off'} | {row['phase1_ms']:.2f} "
                 f"({verdict(row['phase1_ms'], TARGETS['phase1_ms'])}) | {row['bootstrap_ms']:.2f} "
                 f"({verdict(row['bootstrap_ms'], TARGETS['bootstrap_ms'])}) | "
                 f"{row['rss_after_phase1_kb'] / 1024:.1f} MiB (+{(row['rss_after_phase1_kb'] - row['rss_before_kb']) / 1024:.1f}) | "
                 f"{row['rss_after_bootstrap_kb'] / 1024:.1f} MiB (+{(row['rss_after_bootstrap_kb'] - row['rss_after_phase1_kb']) / 1024:.1f}) |")
    L.append("\nPhase 1 for Ruby, Python and Node is the whole `require`/`import` of the package "
             "(loading the shared library or wasm module included); for Rust it is `init_console_only()`. "
             "The extension alone (dlopen plus its init, which starts console logging), measured in a "
             "fresh process without the host library around it:\n")
    for lang in ("ruby", "python"):
        row = find(r["startup"], language=lang, telemetry=False)
        if "native_phase1_ms" in row:
            L.append(f"- {lang}: {row['native_phase1_ms']:.2f} ms "
                     f"({verdict(row['native_phase1_ms'], TARGETS['phase1_ms'])} against the 1 ms target)")
    L.append("")
    L.append("| worker | steps (telemetry on, concurrency 4) | RSS growth | target < 5 MB | spans lost |")
    L.append("|---|---|---|---|---|")
    for row in r["leak"]:
        L.append(f"| {row['language']} | {row['steps']:,} | {row['rss_growth_kb'] / 1024:.2f} MiB | "
                 f"{verdict(row['rss_growth_kb'], TARGETS['rss_growth_kb'])} | {spans_lost(row)} |")
    L.extend(export_section(r))
    web = r["baselines"].get("web_bundle")
    if web:
        L.append(f"\nWeb bundle (`tasker_core_wasm_bg.wasm`, built for size): {web['bytes'] / 1024:,.0f} KiB, "
                 f"{web['gzip_bytes'] / 1024:,.0f} KiB gzipped (target: at or below the 622 KiB gzipped it was "
                 f"before issue #15: {verdict(web['gzip_bytes'], WEB_BUNDLE_GZIP_BEFORE)}).")
    lost = [row for row in r["run"] + r["leak"] if row.get("export_error")]
    if lost:
        L.append("\nSpans lost, as each worker's `stop` reported them (a collector that falls behind "
                 "costs spans, counted and reported, never steps):\n")
        for row in lost:
            L.append(f"- {row['language']} {row['mode']} c={row['concurrency']}: {row['export_error']}")
    if "distributed" in r:
        L.extend(distributed.markdown(r["distributed"]))
    L.extend(against_baseline(r))
    L.append("\n## Findings and what changed\n")
    L.extend(FINDINGS)
    L.append("\n## Reproduce\n")
    L.append("<!-- fragment: takes about 17 minutes; `make bench-smoke`, part of `make test`, runs the same code with tiny counts -->")
    L.append(f"```sh\n{meta['command']}\n```\n")
    path.write_text("\n".join(L) + "\n")


# `gzip -c tasker_core_wasm_bg.wasm | wc -c` of the web bundle at a6a7b7c, before issue #15.
WEB_BUNDLE_GZIP_BEFORE = 636_967


def export_section(r: Dict[str, Any]) -> List[str]:
    """The Rust export pipeline in the 100k-step run, beside the OpenTelemetry SDK's own."""
    ours = find(r["leak"], language="rust")
    peer = r["baselines"].get("sdk_pipeline_rust")
    if not ours or "exported_spans_per_s" not in ours or not peer:
        return []
    lost = ours.get("spans_dropped", 0)
    L = ["", "### Span export, Rust, telemetry on, concurrency 4", "",
         "Exported spans/s is spans the collector accepted over the run's wall time (the run ends "
         "when a flush has sent everything). Export CPU is the CPU time of the export threads "
         "(ours: `tasker-otlp-export` and reqwest's I/O thread; the SDK's: its batch thread and "
         "reqwest's) per exported span; ours encodes each span on the thread that ends it, which "
         "is in the worker's CPU per step instead. The peer is the OpenTelemetry SDK's batch "
         "processor with opentelemetry-otlp's HTTP/protobuf exporter, defaults, fed step-shaped "
         "spans (five attributes, one event) by 4 threads at full speed, in the same run.", "",
         "| pipeline | spans made | spans lost | exported spans/s | export CPU µs/span | target |",
         "|---|---|---|---|---|---|",
         f"| tasker (worker, {ours['steps']:,} steps) | {ours['spans_exported'] + lost:,} | {lost:,} | "
         f"{ours['exported_spans_per_s']:,.0f} | {ours['export_thread_cpu_us_per_span']:.2f} | "
         f"0 spans lost: {'met' if lost == 0 else '**missed**'} |",
         f"| OpenTelemetry SDK batch + OTLP/HTTP | {peer['spans_made']:,} | {peer['spans_lost']:,} | "
         f"{peer['exported_spans_per_s']:,.0f} | {peer['export_thread_cpu_us_per_span']:.2f} | peer |",
         "",
         f"Worker CPU per step with telemetry on (all threads, encoding included): "
         f"{ours['process_cpu_us_per_step']:.1f} µs."]
    ratio = peer["export_thread_cpu_us_per_span"] / max(ours["export_thread_cpu_us_per_span"], 1e-9)
    L.append(f"Export CPU per span: ours is {ratio:.1f}× less than the SDK pipeline's.")
    return L


BASELINE = ROOT / "bench/baseline.json"


def against_baseline(r: Dict[str, Any]) -> List[str]:
    """This run beside `bench/baseline.json` (the run before a change, kept in the repository),
    with each peer or floor of both runs, so drift of the machine shows beside our change."""
    if not BASELINE.exists():
        return []
    b = json.loads(BASELINE.read_text())
    base, meta = b["results"], b["meta"]
    L = [f"\n## Against the baseline run ({meta['date']}, `bench/baseline.json`)\n",
         "The baseline is the run before the host-protocol change (issue #14: one slice loop, one "
         "driver, one error table for every binding). Shared machines drift ±30% between runs, so "
         "the floors and peers measured in both runs are shown too: a change of ours is real only "
         "where it differs from theirs.\n",
         "| figure | baseline | this run | change |", "|---|---|---|---|"]

    def row(name: str, before: Any, after: Any, unit: str) -> None:
        if not before or not after:
            return
        L.append(f"| {name} | {before:,.1f} {unit} | {after:,.1f} {unit} | {(after / before - 1) * 100:+.0f}% |")

    def key(x: Dict[str, Any]) -> Any:
        return (x["language"], x["telemetry"], x["concurrency"])

    old = {key(x): x for x in base.get("run", [])}
    for x in r["run"]:
        o = old.get(key(x))
        if o is None:
            continue
        t = "on" if x["telemetry"] else "off"
        row(f"{x['language']} p50, telemetry {t}, c={x['concurrency']}", o["p50_us"], x["p50_us"], "µs")
        row(f"{x['language']} steps/s, telemetry {t}, c={x['concurrency']}", o["throughput_steps_per_s"],
            x["throughput_steps_per_s"], "")
    ob, nb = base.get("baselines", {}), r.get("baselines", {})
    for lang in ("ruby", "python", "node"):
        k = f"ffi_floor_{lang}"
        if k in ob and k in nb:
            row(f"floor: Rust → {lang} bare call (peer of the machine)", ob[k]["callback_us"] * 1000,
                nb[k]["callback_us"] * 1000, "ns")
    for lang in ("python", "node"):
        k = f"otel_sdk_{lang}"
        if k in ob and k in nb:
            row(f"peer: {lang} OpenTelemetry SDK span", ob[k]["span_us"], nb[k]["span_us"], "µs")
    od, nd = base.get("distributed"), r.get("distributed")
    if od and nd:
        row("distributed: raw PGMQ, 4 clients (peer)", od["floor_4"]["steps_per_s"], nd["floor_4"]["steps_per_s"], "steps/s")
        row("distributed: tasker, 4 serve processes", od["throughput_4"]["steps_per_s"],
            nd["throughput_4"]["steps_per_s"], "steps/s")
        if od.get("dbos") and nd.get("dbos"):
            row("distributed: DBOS (peer)", od["dbos"]["steps_per_s"], nd["dbos"]["steps_per_s"], "steps/s")
        row("distributed: 4-step task p50", od["linear4"]["task_p50_ms"], nd["linear4"]["task_p50_ms"], "ms")
    return L


FINDINGS = [
    "- **Node: a span goes straight into the open batch, small blocks come from a cache, and one "
    "clock reading serves each side of a handler (issue #15).** Ablations of the wasm build, each "
    "measured in one process with telemetry off and on in alternating blocks of 1,000 single-step "
    "tasks (what `telemetry_ab` now does), three runs each, on minus off: all of it 12.1-13.1 µs; "
    "without the five events 8.3-10.1; without the spans' attributes 10.0-11.2; without the "
    "spans' close (nothing exported) 8.2-8.8; without all three 0.5-1.3. So: the SDK's simple "
    "processor, which wrapped each ended span in a one-span batch and ran an executor around an "
    "export that was already done, is gone (`logging::init_with_processor`: the wasm exporter is "
    "the processor); freed blocks of up to 256 bytes are kept on one free list per 16-byte class "
    "in front of dlmalloc (a `String` of 40 bytes made and freed: 14 ns); and what a step records "
    "before its handler is called, and what after it returns, takes one `Date.now()` each "
    "(`time::at_one_instant`: a call out to JS cost ~0.2 µs, five events ~1 µs, and gives whole "
    "milliseconds anyway; the handler runs outside both, which a Node test checks). On minus off, "
    "same method: 12.1-13.1 µs before, 10.0-11.3 after the first two, 8.5-9.3 after the clock. "
    "The SDK span it is judged against was made in a loop of its own (3.6-5.1 µs here), where all "
    "but 2,048 of its spans are dropped unexported; one SDK span made in each step instead, in the "
    "same worker and measured the same way (`telemetry_ab`, three runs: telemetry 10.5-11.2 µs, the "
    "SDK span 13.6-16.4 µs), costs more than our three: 0.67-0.82×. What is left, "
    "by the same ablations: the five events ~3.5 µs (each finds its span in the registry, formats "
    "its message and fields into new values), the ~18 attributes ~3 µs (each formatted into a "
    "string of its own, mostly UUIDs), the three closes ~1.5 µs (each builds the SDK's "
    "`SpanData`). Below the loop's figure would take a span record of our own, its texts in one "
    "buffer per span and encoded from there, in place of the SDK's types.",
    "- **Node: spans leave through `node:http`, and a CPU-bound stream keeps them (issue #15).** "
    "Undici's `fetch` cost 1.0-1.6 ms of CPU per 150 KB request here, `http.request` on a "
    "kept-alive agent 0.15-0.41 ms (one script, both in one process, 300 requests each). A stream "
    "of tasks whose handlers never wait on I/O runs on promise jobs alone, so the event loop never "
    "reached the sockets: requests were not even written until the stream ended, and the "
    "round-trip runs dropped 1,787-2,026 spans each. The exporter now yields one event-loop turn "
    "(`setImmediate`) at most once a millisecond while a send is in flight, after a step; the same "
    "runs drop none, and the new Node test (two tasks of 10,000 steps) drops none where the build "
    "before dropped 21,570 of its 40,002 spans. A settled send no longer sends a partial batch at "
    "once (it had made every task a request of its own against a fast collector). Node's RSS "
    "figure is now taken after a warm-up (above): sampled every 20k steps over 200k, RSS rose for "
    "the first ~40k steps with telemetry on and off alike, then stayed flat.",
    "- **Our own OpenTelemetry layer, in place of tracing-opentelemetry (issue #15).** "
    "tracing-opentelemetry built each span twice (a builder, then an SDK span at its first enter), "
    "attached an OpenTelemetry `Context` on every enter of a span and detached it on every exit "
    "(each poll of a future the span instruments), stamped `level` and `target` on every event, "
    "and ended each span through the SDK's span. `node --cpu-prof` of 30,000 single-step tasks, "
    "on minus off, wasm frames inclusive, per task, before: a span's end through the SDK ~8 µs "
    "(encoding ~2.3, dropping the `SpanData` ~1.7, the request ~2), the five events ~4.3 µs. "
    "`tasker_shared::logging::otel_layer` keeps one record per span in the registry, fixes ids "
    "and sampling when first needed, and makes the `SpanData` once, at close; the wasm exporter "
    "keeps its open batch of 512 spans and encodes them together when it fills or is sent, "
    "outside the steps that made them. After: the events ~2.8 µs, a span's close (outside its "
    "batch's encoding) ~0.6 µs. A/B in one sitting (5 alternating runs of 5,000 single-step tasks, "
    "`node_bench.mjs run`, p50): on/off 50-56/43-46 µs before, 45-49/37-40 µs after; telemetry "
    "off got ~7 µs cheaper too (no context attached per enter), on minus off ~8.3 → ~6.8 µs, "
    "against 3.1-4.3 µs for one queued SDK span; in `make bench` 10.0 µs (3.39×) in the run "
    "before, 8.3 µs (2.55×) in this one (the ≤ 1× target: still missed). Rust's p50 with "
    "telemetry off fell from 29.6 to 13.4 µs between the two runs (steps/s 77.5k → 90.6k), "
    "the bare-call floors of both runs within 5% of each other, so most of it is the change "
    "(no context attached on every poll; nothing recorded while off); its five runs were "
    "bimodal, 11-13 and 22-24 µs. What a step "
    "still pays: five events (each message formatted, each a `Date.now()`), ~20 attributes "
    "formatted to strings (mostly UUIDs), three registry records.",
    "- **Fixed: spans lost under load (issue #15).** The 100k-step Rust run at concurrency 4 dropped "
    "27-37k of its 202k spans (`bench leak --endpoint <rotel> --concurrency 4 --steps 100000`, "
    "three runs before the change). `perf record -g` of that run: the SDK batch processor's export "
    "thread was 32% of all samples, and two thirds of it was freeing spans the worker threads had "
    "allocated (`_int_free`, and glibc's arena lock waking its waiters), most of the rest converting "
    "them into opentelemetry-proto structs; the encoding itself was a few percent. OTLP/HTTP spans "
    "are now encoded (our own protobuf/JSON writer, checked field for field against "
    "opentelemetry-proto's conversion) on the thread that ends them and dropped there, the queue "
    "holds bytes, and two export threads only frame and POST. Same command after: 0 of 202,101 lost "
    "in every run, the run 2.6-2.7 s → 1.55-1.63 s wall and ~3.9 → ~2.05 s CPU, ~0.4 µs of export "
    "CPU per span against ~4.9 µs for the SDK pipeline (the table above measures both in one run). "
    "gRPC still goes through the SDK's batch processor.",
    "- **The host protocol (#14) held every figure.** One slice loop for every blocking wait, one "
    "task driver for Tokio and the JS event loop, the step's timeout computed once in the core, "
    "one error table: against the run before it (the table above), no round trip, throughput or "
    "distributed figure got worse. Most got better by more than this machine's drift (its bare "
    "calls were 15-33% faster, DBOS 92%); we do not claim that difference for the change, which "
    "removed work from no hot path on purpose (the one it did remove: Python and Ruby no longer "
    "ask the worker for its handler timeout per step).",
    "- **Fixed: the wasm worker leaked ~6 KB per step** (600 MB of RSS over 100k steps). Each step's "
    "handler timeout was a `setTimeout` promise that was cleared but never settled, and "
    "wasm-bindgen frees a future's callbacks only when its promise settles. The timeout promise "
    "is now resolved when the handler finishes; with a callback exporter the JS heap and wasm "
    "memory stay flat over 50k steps (`process.memoryUsage()`, before: +8 MB heap and +12 MB "
    "wasm memory per 10k steps).",
    "- **Fixed: the wasm exporter sent one `fetch` per task** (+720 µs p50 per single-step task "
    "with telemetry on). Spans now leave in batches, on a 1 s unref'd timer or at 512 spans, with "
    "at most 4 sends in flight and a bounded buffer; the driver yields to the event loop while "
    "sends are backed up, so a CPU-bound stream of tasks delays spans instead of dropping them.",
    "- **Fixed: the native round trip crossed four threads per step, then two** (none now for a step handed to the waiting thread, below; Rust p50 for a "
    "one-step task ~90-100 µs before, ~53 µs in the run after the change; Ruby ~260 → ~150-170 µs, Python ~310 → "
    "~165 µs). Profiled with `perf record -g` on `bench run`: ~4 context switches per task and "
    "most CPU in wake-ups. Changes: (1) the thread that waits for a task now drives it "
    "(`TaskRun`: `Handle::block_on` in slices, so Ruby/Python still check interrupts), instead "
    "of spawning the driver on the runtime and waiting on a channel; (2) no step queue and no "
    "spawned task per step between the driver and the bridge (a semaphore bounds steps in "
    "flight); (3) taking an event no longer wakes the driver to start a timer: one watchdog per "
    "bridge sleeps until the earliest handler deadline; (4) `uuid` uses a user-space RNG "
    "(`fast-rng`) instead of a `getrandom` syscall per id. A ping-pong of the same two hops "
    "costs ~4.5 µs here (p50), so what remains of the 53 µs is CPU work per task: three spans "
    "through tracing-opentelemetry (since replaced by our own layer) even with export off, the step event's JSON payload, and "
    "metrics with labels.",
    "- **Fixed: the workflow machine scanned every step per result** (O(n²) per task: 45% of CPU "
    "for one 20k-step task). Each step now counts its unmet dependencies; a result touches only "
    "its dependents, and a failure skips exactly what is downstream. Rust throughput rose from "
    "~26-29k to ~36k steps/s in the run after the change.",
    "- **Fixed: Ruby paid a thread per handler call.** Ruby 3.1's `Timeout.timeout` starts a thread "
    "for every call (31 µs measured alone, more under GVL contention). One deadline watchdog "
    "thread (`TaskerCore::Deadline`) now serves every handler thread and is woken only when a "
    "new deadline is earlier than the one it sleeps to; Ruby throughput went from ~10k to "
    "~12-19k steps/s across runs.",
    "- **Fixed in part: Python's import** no longer loads asyncio, concurrent.futures or "
    "opentelemetry (they load with the first async handler or the first step): "
    "`import tasker_core` ~120 ms → ~29 ms. The extension itself (dlopen plus phase-1 console "
    "init) takes ~1 ms in Ruby and Python; the rest is the host's own standard library "
    "(`typing`, `dataclasses`/`inspect`, `logging` in Python; `json` and friends in Ruby).",
    "- **Fixed: telemetry lost spans silently under load.** A 100k-step run with telemetry on "
    "exported 168k of ~204k spans: the SDK's batch processor drops spans when its queue "
    "(2048) is full and counts them only privately, and our stats showed no loss. The bound is "
    "now kept in front of the SDK's queue (`OTEL_BSP_MAX_QUEUE_SIZE`, counting the batch being "
    "sent), every span beyond it is counted in `TelemetryStats::spans_dropped`, and "
    "`flush`/`shutdown` (so `Worker#stop`) report the losses since the last report; the "
    "*spans lost* columns above come from that. A bigger queue did not help: with 8k-64k the "
    "exporter still fell behind (one export thread, ~50-60k spans/s on these 2 cores) and RSS "
    "grew 33-218 MiB instead.",
    "- **Fixed: every span carried attributes nobody queries**: source file/module/line, thread "
    "id and name, target and busy/idle timings on each span, source location and target on each "
    "event (~3.3 KB a span in the export queue). Without them, and with span events skipped "
    "while telemetry is off (nothing would export them), the same Rust bench binary before and "
    "after, interleaved: p50 41-45 → 36-37 µs and 48-51k → 63-65k steps/s with telemetry off; "
    "CPU for 10k one-step tasks 840-990 → 716-780 ms (`perf stat -e task-clock`); 83% → 96% of "
    "spans exported in the 100k-step run; Rust RSS growth ~6-7 → ~3-4 MiB.",
    "- **Fixed: Python started a no-op OpenTelemetry span per step** wherever `opentelemetry-api` "
    "was installed without an SDK (as in the bench's venv): ~10 µs alone, ~20 µs a step in "
    "place. Without a configured SDK the handler now only runs in the step's context (what "
    "propagators inject): p50 ~109 → ~100 µs, 18-20k → 24k steps/s in a direct A/B.",
    "- **Tried and rejected: mimalloc as the global allocator.** glibc's arena lock showed up "
    "(6% `__lll_lock_wait_private` on the exporter thread, which frees spans the worker "
    "allocated), and mimalloc raised telemetry-on throughput 20-30%, but RSS after a run went "
    "from ~18 to 62-68 MiB and grew 15-17 MiB over 100k steps, against a memory budget of "
    "hundreds of KB.",
    "- **The same-thread hand-off now serves Rust only.** A step dispatched while the worker "
    "had nothing else in flight was left on the waiting thread, which ran its handler itself "
    "(`handoff`, `TaskRun::wait_or_take`): no futex wake-up, no GVL/GIL hand-off (Rust 45.7 → "
    "19.7 µs, Ruby 148 → 53 µs, Python 108 → 55 µs p50 in the runs around that change). In Ruby "
    "and Python it was wrong: a host function cannot be pre-empted, so a handler that never "
    "returned kept `run_task` from returning for ever, past the step's timeout and the task's "
    "(issue #12). Ruby and Python callers now only drive the task; handlers run on the handler "
    "threads. A Rust handler is a future its timeout can drop, so Rust keeps the hand-off. "
    "Cost, measured on the same machine in one sitting (a loop of 3,000 "
    "single-step tasks, concurrency 1, telemetry off, p50): the previous wheel with the "
    "hand-off 135-181 µs, the previous wheel without it 356-387 µs, this wheel 356-360 µs: the "
    "hand-off is the whole difference, the other changes of that issue (fork-safe ids, task "
    "cancellation, the supervisor) cost nothing measurable. This run's machine was also about "
    "2× slower than the previous run's (the bare Rust-to-Python call 0.026 → 0.043 µs, the "
    "Python SDK span 58.7 → 109 µs, Rust p50 25 → 35 µs), so compare ratios: Ruby and Python "
    "round trips went from ~1× to ~3× of Python's own SDK span. What remains is two "
    "cross-thread wake-ups per step on this VM; spinning briefly before parking (handler threads "
    "on the bridge, the caller on its task) is the next thing to try.",
    "- **Round trip p50 ≤ 50 µs for Ruby and Python: missed** (the table above; 53-75 µs "
    "for Ruby and 54-56 µs for Python with telemetry off in the three `make bench` runs with "
    "the hand-off, ~310-340 µs in this run without it, on a slower machine). Besides the two "
    "wake-ups above, what is left is the host's own per-step work (building the context object, the "
    "deadline guard, the completion hash; ~35-50 µs of interpreter time per step in Python's "
    "profile before the hand-off) and the step event converted to a serde_json `Value` and "
    "then to a Hash/dict and back. Rust's ≤ 20 µs sits at the line with telemetry off (medians "
    "of 18.9, 19.7 and 25.5 µs in those runs, single runs 18-30 µs) and is missed with it on "
    "(~30-34 µs). The ≥ 20k steps/s target on one Ruby/Python thread with telemetry on sits at "
    "the line too: 19-25k steps/s across those runs.",
    "- **Telemetry cost per step** (on minus off, p50) is the difference of two noisy medians: "
    "Rust 8-12 µs, Python ~9 µs in calm runs (46 µs in a noisy one), Ruby 4-6 µs or below the "
    "noise, Node 8-21 µs against Node's ~4-5 µs SDK span (missed). The ≤ 0.25× of Python's "
    "SDK span is met (0.1-0.15× in calm runs). The three spans a one-step task makes must be built, and "
    "exported by one thread that shares these 2 cores with the worker and the collector.",
    "- **Spans lost under saturation** (before issue #15's export pipeline, the first finding): "
    "the Rust worker outran the SDK's export thread in the 100k-step run at concurrency 4 (7-36k "
    "of 202k spans dropped across runs). It no longer does over OTLP/HTTP; a worker starved of "
    "CPU (seen once with a CI build running beside it: 2,174 of 202,101 dropped) still can, and "
    "each loss is counted and reported by `stop`. Node no longer drops any in its round-trip "
    "runs (the first finding).",
    "- **RSS growth over 100k steps with telemetry on** is a few MiB for every worker (the table "
    "above; Ruby's sits near the 5 MB line and crosses it in some runs). Node's is taken after "
    "V8's warm-up (above). Taken after 1,000 steps, as before issue #15, most of Node's growth "
    "was not telemetry: telemetry off grew ~35 MiB (V8's young generation growing to its limit; "
    "~11 MiB with `--max-semi-space-size=1`), a callback exporter ~44 MiB with the wasm memory "
    "flat, and `fetch` ~75-85 MiB, of which undici's and V8's high-water marks were most "
    "(`process.memoryUsage()` per 20k steps).",
    "- **Phase 1**: the extensions alone load and start console logging in under 1 ms (Ruby, "
    "Python): met; the packages' whole `require`/`import` and Node's module load are mostly the "
    "host's own standard library and the wasm module's compile: missed.",
    "- **Node under a collector that never answers** now drops spans instead of slowing tasks: "
    "between tasks the driver gives the event loop at most ~4 ms to let export responses in "
    "(before: up to 2 s per task once the buffer was half full, so a stalled collector made "
    "each 100-step task take ~2.3 s). With the live collector in this run that shows as spans "
    "dropped at concurrency 1 and 4 (below the table) where the previous run delayed them; "
    "Node p50 174-210 µs here against 67-75 µs in the previous run is the machine: the previous "
    "package and this one, side by side in one sitting (3,000 single-step tasks, concurrency "
    "1, telemetry off), gave 319-384 µs and 258-270 µs p50 (the previous one also logged to "
    "stdout), so the strict JS-to-JSON walk that now refuses `NaN`, functions and `Map`s costs "
    "nothing measurable.",
    "- **Timings on this machine drift by ±20-30% between runs** (a shared 2-vCPU VM: the same "
    "two-hop ping-pong measured 4.5 µs and 8 µs p50 minutes apart; single round-trip runs in "
    "one `make bench` spread 18-30 µs for Rust), so each round-trip row is the median of "
    "several alternating runs, and telemetry on-minus-off differences are uncertain by about "
    "±10-20 µs: the table marks a negative one as noise and judges the rest as measured.",
]


def write_chart(path: Path, r: Dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = ["rust", "ruby", "python", "node"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.38
    for ax, key, title in ((axes[0], "p50_us", "round trip p50 (µs), concurrency 1"),
                           (axes[1], "throughput_steps_per_s", "throughput (steps/s), concurrency 1")):
        for i, tel in enumerate((False, True)):
            vals = [find(r["run"], language=l, telemetry=tel, concurrency=1)[key] for l in langs]
            ax.bar([x + (i - 0.5) * width for x in range(len(langs))], vals, width,
                   label="telemetry on" if tel else "telemetry off")
        ax.set_xticks(range(len(langs)), langs)
        ax.set_title(title)
        ax.legend()
    targets = TARGETS["roundtrip_p50_us"]
    for i, l in enumerate(langs):
        if l in targets:
            axes[0].hlines(targets[l], i - 0.45, i + 0.45, colors="red", linestyles="dashed")
    axes[0].set_yscale("log")
    fig.suptitle("tasker-core step round trip (red: target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--py-bench-python", required=True)
    p.add_argument("--node-bench-dir", required=True)
    p.add_argument("--gem-home", required=True)
    p.add_argument("--dbos-python", help="a Python with PyPI's dbos, for the distributed peer")
    p.add_argument("--render-only", action="store_true", help="rewrite the page and chart from bench/results.json")
    a = p.parse_args()
    if a.render_only:
        data = json.loads((ROOT / "bench/results.json").read_text())
        write_markdown(ROOT / "docs/benchmarks.md", data["results"], data["derived"], data["meta"])
        write_chart(ROOT / "bench/chart.png", data["results"])
        return
    counts = {"samples": 20, "steps": 50, "rounds": 1} if a.smoke else {"samples": 2000, "steps": 5000, "rounds": 5}
    leak_steps = 2000 if a.smoke else 100_000
    out_dir = Path(tempfile.mkdtemp(prefix="tasker-bench-")) if a.smoke else ROOT
    runner = Runner({"PY_BENCH_PYTHON": a.py_bench_python, "NODE_BENCH_DIR": a.node_bench_dir,
                     "GEM_HOME": a.gem_home}, counts)
    collector = Collector()
    try:
        print(f"benchmarks ({'smoke' if a.smoke else 'full'}):", flush=True)
        results = measure(runner, collector.endpoint, leak_steps)
    finally:
        collector.stop()
    results["distributed"] = distributed.measure(a.smoke, a.dbos_python)
    derived = derive(results)
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores ({cpu}), {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
                   f"{platform.system()} {platform.release()}",
        "command": "make bench",
        "steps": counts["steps"],
        "rounds": counts["rounds"],
        "smoke": a.smoke,
    }
    (out_dir / "bench").mkdir(parents=True, exist_ok=True)
    (out_dir / "docs").mkdir(parents=True, exist_ok=True)
    (out_dir / "bench/results.json").write_text(json.dumps({"meta": meta, "targets": TARGETS, "results": results,
                                                            "derived": derived}, indent=2) + "\n")
    write_markdown(out_dir / "docs/benchmarks.md", results, derived, meta)
    write_chart(out_dir / "bench/chart.png", results)
    print(f"wrote {out_dir / 'docs/benchmarks.md'}, {out_dir / 'bench/results.json'}, {out_dir / 'bench/chart.png'}")
    if a.smoke:
        text = (out_dir / "docs/benchmarks.md").read_text()
        missing = [s for s in ("## Step round trip", "## Baselines", "## Start-up and memory", "## Distributed",
                               "DBOS, 8 threads", "### Span export", "OpenTelemetry SDK batch + OTLP/HTTP") if s not in text]
        if missing or re.search(r"\bnan\b", text):
            sys.exit(f"benchmark smoke run produced an incomplete page: {missing}")
        print("benchmark smoke run: every figure produced")


if __name__ == "__main__":
    main()
