"""A Python process serving one queue of the polyglot tests, as a user would write it.

    python worker.py QUEUE [fork|stop]

``fork``: bootstrap here, then serve from a forked child (a pre-forking server's shape).
``stop``: another thread calls ``worker.stop()`` once a step has run.
"""

import os
import signal
import sys
import threading
import time

import tasker_core


RAN = threading.Event()


class AddOne(tasker_core.StepHandler):
    """The dependency's result plus one; sleeps first for the context's ``python_sleep_ms``,
    and writes "step_name trace_id span_id" of its context to the file named by
    TASKER_STARTED_FILE once it has started."""

    def call(self, context: tasker_core.StepContext) -> tasker_core.StepResult:
        marker = os.environ.get("TASKER_STARTED_FILE")
        if marker:
            with open(marker, "w") as f:
                f.write(f"{context.step_name} {context.trace_id} {context.span_id}")
        time.sleep(context.input.get("python_sleep_ms", 0) / 1000.0)
        RAN.set()
        (previous,) = context.dependency_results.values() or [context.input["n"]]
        return self.success(previous + 1, metadata={"trace_id": context.trace_id, "span_id": context.span_id})


tasker_core.register_handler("python_add_one", AddOne)
queue = sys.argv[1]
worker = tasker_core.bootstrap_worker(queues=[queue], concurrency=2,
                                      telemetry={"service_name": "polyglot-python"})
if sys.argv[2:] == ["fork"]:
    pid = os.fork()
    if pid == 0:
        worker.serve()
        sys.exit(0)  # atexit stops the child's worker and flushes its spans; os._exit would not
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
else:
    if sys.argv[2:] == ["stop"]:
        threading.Thread(target=lambda: (RAN.wait(), time.sleep(0.2), worker.stop()), daemon=True).start()
    report = worker.serve()
    print(" ".join(f"{k}={v}" for k, v in report.items()))
