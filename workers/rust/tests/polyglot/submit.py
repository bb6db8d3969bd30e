"""Submits a task through ``tasker_core.Client`` and waits for it, as a user would:

    python submit.py TEMPLATE CONTEXT_JSON

Prints the submitted task's ids (a JSON line), then its result (a JSON line).
"""

import dataclasses
import json
import os
import sys

import tasker_core

client = tasker_core.Client(database_url=os.environ["DATABASE_URL"])
task = client.submit_task(sys.argv[1], context=json.loads(sys.argv[2]))
print(json.dumps(task), flush=True)
result = client.wait_task(task["task_uuid"], timeout=60)
again = client.task_status(task["task_uuid"])
print(json.dumps({**dataclasses.asdict(result), "status_again": again.status}), flush=True)
