//! Reading a task back from its rows: the task row and one `StepRecord` per step row, the
//! form `Task::restore` takes. Shared by `status` and by `serve`'s loads, so the mapping
//! between rows and records lives once.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::{PgConnection, Row};
use tasker_shared::workflow::{StepRecord, StepStatus, TaskTemplate};
use uuid::Uuid;

use crate::error::DbError;

/// The `tasker.steps.status` of a step status.
pub(crate) fn db_status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Pending => "pending",
        StepStatus::InFlight => "enqueued",
        StepStatus::Complete => "complete",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
    }
}

fn step_status(s: &str) -> StepStatus {
    match s {
        "enqueued" => StepStatus::InFlight,
        "complete" => StepStatus::Complete,
        "failed" => StepStatus::Failed,
        "skipped" => StepStatus::Skipped,
        _ => StepStatus::Pending,
    }
}

/// One `tasker.tasks` row.
pub(crate) struct TaskRow {
    pub(crate) correlation_id: Uuid,
    pub(crate) template: TaskTemplate,
    pub(crate) context: Value,
    pub(crate) status: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) traceparent: Option<String>,
}

/// A task as its rows hold it: the task row, every step's record by name, and the step
/// names by uuid.
pub(crate) struct Stored {
    pub(crate) row: TaskRow,
    pub(crate) records: BTreeMap<String, StepRecord>,
    pub(crate) names: HashMap<Uuid, String>,
}

/// The task row and its step rows in one query; with `lock`, the task row is locked first,
/// for the rest of the transaction.
///
/// The lock is its own statement on purpose: a statement's snapshot is taken when it starts,
/// so a query that waited for the lock would read the step rows as they were before the
/// transaction that held it committed, and record a result twice.
pub(crate) async fn load_task(
    conn: &mut PgConnection,
    task_uuid: Uuid,
    lock: bool,
) -> Result<Option<Stored>, DbError> {
    if lock {
        let locked = sqlx::query("SELECT 1 FROM tasker.tasks WHERE task_uuid = $1 FOR UPDATE")
            .bind(task_uuid)
            .fetch_optional(&mut *conn)
            .await?;
        if locked.is_none() {
            return Ok(None);
        }
    }
    const SELECT: &str = "SELECT t.correlation_id, t.template, t.context, t.status, t.trace_id, t.traceparent,
            coalesce((SELECT jsonb_agg(jsonb_build_object(
                'step_uuid', s.step_uuid, 'name', s.name, 'status', s.status, 'attempts', s.attempts,
                'result', s.result, 'error', s.error, 'error_type', s.error_type,
                'execution_time_ms', s.execution_time_ms, 'last_traceparent', s.last_traceparent))
              FROM tasker.steps s WHERE s.task_uuid = t.task_uuid), '[]'::jsonb) AS steps
        FROM tasker.tasks t WHERE t.task_uuid = $1";
    let Some(row) = sqlx::query(SELECT)
        .bind(task_uuid)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let task = TaskRow {
        correlation_id: row.try_get("correlation_id")?,
        template: serde_json::from_value(row.try_get("template")?)
            .map_err(|e| DbError::Invalid(format!("the stored template does not load: {e}")))?,
        context: row.try_get("context")?,
        status: row.try_get("status")?,
        trace_id: row.try_get("trace_id")?,
        traceparent: row.try_get("traceparent")?,
    };
    let steps: Vec<StepRow> = serde_json::from_value(row.try_get("steps")?)
        .map_err(|e| DbError::Invalid(format!("the stored steps do not load: {e}")))?;
    let (mut records, mut names) = (BTreeMap::new(), HashMap::new());
    for s in steps {
        names.insert(s.step_uuid, s.name.clone());
        records.insert(
            s.name,
            StepRecord {
                status: step_status(&s.status),
                attempts: u32::try_from(s.attempts).unwrap_or(0),
                result: s.result,
                error: s.error,
                error_type: s.error_type,
                execution_time_ms: u64::try_from(s.execution_time_ms).unwrap_or(0),
                last_traceparent: s.last_traceparent,
            },
        );
    }
    Ok(Some(Stored {
        row: task,
        records,
        names,
    }))
}

/// One `tasker.steps` row, as `load_task` aggregates it.
#[derive(serde::Deserialize)]
struct StepRow {
    step_uuid: Uuid,
    name: String,
    status: String,
    attempts: i32,
    #[serde(default)]
    result: Value,
    error: Option<String>,
    error_type: Option<String>,
    execution_time_ms: i64,
    last_traceparent: Option<String>,
}

/// Writes a recorded result: every changed step row, the task's end if it ended, and the
/// archiving of the message that carried it, in ONE statement (data-modifying CTEs always
/// run to completion).
pub(crate) async fn save<'a>(
    conn: &mut PgConnection,
    task_uuid: Uuid,
    changed: impl Iterator<Item = (&'a String, &'a StepRecord)>,
    finished: Option<&str>,
    (pgmq_queue, msg_id): (&str, i64),
) -> Result<(), DbError> {
    let mut c = StepColumns::default();
    for (name, r) in changed {
        c.names.push(name.clone());
        c.statuses.push(db_status(r.status));
        c.attempts
            .push(i32::try_from(r.attempts).unwrap_or(i32::MAX));
        c.results
            .push((!r.result.is_null()).then(|| r.result.clone()));
        c.errors.push(r.error.clone());
        c.error_types.push(r.error_type.clone());
        c.ms.push(i64::try_from(r.execution_time_ms).unwrap_or(i64::MAX));
        c.traceparents.push(r.last_traceparent.clone());
    }
    sqlx::query(
        "WITH changed AS (
           UPDATE tasker.steps s SET status = u.status, attempts = u.attempts, result = u.result,
                  error = u.error, error_type = u.error_type, execution_time_ms = u.ms,
                  last_traceparent = u.tp, updated_at = now()
           FROM unnest($1::text[], $2::text[], $3::int4[], $4::jsonb[], $5::text[], $6::text[], $7::int8[], $8::text[])
                AS u(name, status, attempts, result, error, error_type, ms, tp)
           WHERE s.task_uuid = $9 AND s.name = u.name
           RETURNING 1
         ), finished AS (
           UPDATE tasker.tasks SET status = $10, finished_at = now()
           WHERE task_uuid = $9 AND $10::text IS NOT NULL
           RETURNING 1
         )
         SELECT pgmq.archive($11, $12)",
    )
    .bind(c.names)
    .bind(c.statuses)
    .bind(c.attempts)
    .bind(c.results)
    .bind(c.errors)
    .bind(c.error_types)
    .bind(c.ms)
    .bind(c.traceparents)
    .bind(task_uuid)
    .bind(finished)
    .bind(pgmq_queue)
    .bind(msg_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Step records as the columns `unnest` takes.
#[derive(Default)]
struct StepColumns {
    names: Vec<String>,
    statuses: Vec<&'static str>,
    attempts: Vec<i32>,
    results: Vec<Option<Value>>,
    errors: Vec<Option<String>>,
    error_types: Vec<Option<String>>,
    ms: Vec<i64>,
    traceparents: Vec<Option<String>>,
}
