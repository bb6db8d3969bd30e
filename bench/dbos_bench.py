"""The peer a Python user would pick instead of tasker's distributed workers: DBOS
(PyPI `dbos`), running the same 4-step linear workflow (square, square, square, square) on
the same PostgreSQL. Prints one `BENCH {json}` line.

Two figures, as in tasker's rows: throughput (N workflows started from T threads at once,
steps/s over the whole run) and latency (one workflow at a time, p50/p99 ms)."""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from dbos import DBOS, DBOSConfig


@DBOS.step()
def square(n: int) -> int:
    return n * n


@DBOS.workflow()
def linear(n: int) -> int:
    for _ in range(4):
        n = square(n)
    return n


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url", required=True)
    p.add_argument("--workflows", type=int, default=500)
    p.add_argument("--latency-samples", type=int, default=200)
    p.add_argument("--threads", type=int, default=8)
    a = p.parse_args()
    logging.getLogger("dbos").setLevel(logging.WARNING)
    config: DBOSConfig = {"name": "tasker-bench-dbos", "system_database_url": a.database_url,
                          "run_admin_server": False}
    DBOS(config=config)
    DBOS.launch()
    assert linear(2) == 65536
    lat = []
    for _ in range(a.latency_samples):
        t = time.perf_counter()
        linear(2)
        lat.append((time.perf_counter() - t) * 1000)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:
        results = list(pool.map(linear, [2] * a.workflows))
    elapsed = time.perf_counter() - t0
    assert all(r == 65536 for r in results)
    DBOS.destroy()
    print("BENCH " + json.dumps({
        "peer": "dbos",
        "workflows": a.workflows,
        "threads": a.threads,
        "steps_per_s": 4 * a.workflows / elapsed,
        "linear4_p50_ms": statistics.median(lat),
        "linear4_p99_ms": pct(lat, 0.99),
    }), flush=True)


if __name__ == "__main__":
    main()
