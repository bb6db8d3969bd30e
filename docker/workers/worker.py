"""The Python worker of docker-compose.test.yml: serves the ``plus_one`` step of the
three-language example task (workers/rust/templates/three_languages.yaml) on its queue.

Everything else comes from the environment the compose file sets: DATABASE_URL,
TELEMETRY_ENABLED and OTEL_* (telemetry), TASKER_WEB_BIND_ADDRESS (/health and /metrics).

    python worker.py [QUEUE]   (default: python_q)
"""

import os
import sys

import tasker_core


class AddOne(tasker_core.StepHandler):
    """The dependency's result plus one."""

    def call(self, context: tasker_core.StepContext) -> tasker_core.StepResult:
        (previous,) = context.dependency_results.values()
        return self.success(previous + 1)


tasker_core.register_handler("python_add_one", AddOne)
queue = sys.argv[1] if len(sys.argv) > 1 else "python_q"
worker = tasker_core.bootstrap_worker(queues=[queue], concurrency=int(os.environ.get("TASKER_CONCURRENCY", "4")))
# Blocks until SIGINT/SIGTERM (`docker compose stop`), then drains.
report = worker.serve()
print(" ".join(f"{k}={v}" for k, v in report.items()))
