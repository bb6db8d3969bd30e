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

/// The task's row, locked for the rest of the transaction when `lock`.
pub(crate) async fn task_row(
    conn: &mut PgConnection,
    task_uuid: Uuid,
    lock: bool,
) -> Result<Option<TaskRow>, DbError> {
    let sql = if lock {
        "SELECT correlation_id, template, context, status, trace_id, traceparent FROM tasker.tasks WHERE task_uuid = $1 FOR UPDATE"
    } else {
        "SELECT correlation_id, template, context, status, trace_id, traceparent FROM tasker.tasks WHERE task_uuid = $1"
    };
    let Some(row) = sqlx::query(sql)
        .bind(task_uuid)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(TaskRow {
        correlation_id: row.try_get("correlation_id")?,
        template: serde_json::from_value(row.try_get("template")?)
            .map_err(|e| DbError::Invalid(format!("the stored template does not load: {e}")))?,
        context: row.try_get("context")?,
        status: row.try_get("status")?,
        trace_id: row.try_get("trace_id")?,
        traceparent: row.try_get("traceparent")?,
    }))
}

/// Every step's record by name, and the step names by uuid.
pub(crate) async fn step_records(
    conn: &mut PgConnection,
    task_uuid: Uuid,
) -> Result<(BTreeMap<String, StepRecord>, HashMap<Uuid, String>), DbError> {
    let mut records = BTreeMap::new();
    let mut names = HashMap::new();
    for r in sqlx::query(
        "SELECT step_uuid, name, status, attempts, result, error, error_type, execution_time_ms, last_traceparent FROM tasker.steps WHERE task_uuid = $1",
    )
    .bind(task_uuid)
    .fetch_all(&mut *conn)
    .await?
    {
        let name: String = r.try_get("name")?;
        names.insert(r.try_get::<Uuid, _>("step_uuid")?, name.clone());
        let st: String = r.try_get("status")?;
        records.insert(
            name,
            StepRecord {
                status: step_status(&st),
                attempts: u32::try_from(r.try_get::<i32, _>("attempts")?).unwrap_or(0),
                result: r.try_get::<Option<Value>, _>("result")?.unwrap_or(Value::Null),
                error: r.try_get("error")?,
                error_type: r.try_get("error_type")?,
                execution_time_ms: u64::try_from(r.try_get::<i64, _>("execution_time_ms")?)
                    .unwrap_or(0),
                last_traceparent: r.try_get("last_traceparent")?,
            },
        );
    }
    Ok((records, names))
}
