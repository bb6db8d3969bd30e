-- tasker-core's own tables, beside PGMQ's (schema pgmq). Each state change of a task is one
-- transaction over these rows and the step's queue message; see docs/distributed.md.
CREATE SCHEMA IF NOT EXISTS tasker;

-- One row per submitted task: its template as submitted (workers rebuild the sans-IO task
-- machine from it and the step rows), its context, and its one trace.
CREATE TABLE tasker.tasks (
    task_uuid      uuid PRIMARY KEY,
    correlation_id uuid NOT NULL,
    namespace      text NOT NULL,
    name           text NOT NULL,
    version        text NOT NULL,
    template       jsonb NOT NULL,
    context        jsonb NOT NULL,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'error')),
    trace_id       text,
    traceparent    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);

-- One row per step of a task. `queue` is the step's template queue, else the namespace;
-- its messages go to PGMQ queue worker_<queue>_queue.
CREATE TABLE tasker.steps (
    step_uuid         uuid PRIMARY KEY,
    task_uuid         uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    name              text NOT NULL,
    queue             text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'enqueued', 'complete', 'failed', 'skipped')),
    attempts          integer NOT NULL DEFAULT 0,
    result            jsonb,
    error             text,
    error_type        text,
    -- The execution span of the latest attempt: a retry's execution span links to it.
    last_traceparent  text,
    execution_time_ms bigint NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_uuid, name)
);
CREATE INDEX steps_by_task ON tasker.steps (task_uuid);

-- Queues tasker has created in PGMQ, so `submit` can refuse a step for a queue nobody
-- created and `/metrics` can list depths without scanning pgmq's catalogue.
CREATE TABLE tasker.queues (
    name       text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
