//! Submitting a task and reading its state back. `submit` writes the task, its steps and the
//! messages of its first ready steps in ONE transaction, under the task's root span, whose
//! traceparent every step message carries: the task is one trace in whatever process runs
//! its steps.

use serde_json::{Value, json};
use sqlx::postgres::PgPool;
use tasker_shared::workflow::{StepStatus, Task, TaskTemplate};
use tasker_shared::{ids, step_spans, trace_context};
use uuid::Uuid;

use crate::error::DbError;
use crate::queue::{self, step_queue};
use crate::rows::{self, TaskRow, db_status};

/// What `submit` returns: the task's ids and its one trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub task_uuid: Uuid,
    pub correlation_id: Uuid,
    /// The trace every span of the task joins (`None` when telemetry makes no ids).
    pub trace_id: Option<String>,
}

impl Submitted {
    /// `{"task_uuid", "correlation_id", "trace_id"}`, as `tasker-worker-rust submit` prints it.
    pub fn to_json(&self) -> Value {
        json!({
            "task_uuid": self.task_uuid,
            "correlation_id": self.correlation_id,
            "trace_id": self.trace_id,
        })
    }
}

/// Validates and submits a task: the task row, a row per step, and the first ready steps'
/// messages, in one transaction. Nothing is written when anything is invalid.
pub async fn submit(
    pool: &PgPool,
    template: TaskTemplate,
    context: Value,
) -> Result<Submitted, DbError> {
    let invalid = |e: &dyn std::fmt::Display| DbError::Invalid(e.to_string());
    template.validate().map_err(|e| invalid(&e))?;
    tasker_shared::workflow::check_context(&context).map_err(|e| invalid(&e))?;
    for step in &template.steps {
        queue::pgmq_queue_name(step_queue(&template, step))?;
    }
    let (task_uuid, correlation_id) = (ids::new_uuid(), ids::new_uuid());
    let root = step_spans::task_span(&template, task_uuid, correlation_id);
    let root_ids = trace_context::span_ids(&root);
    let mut task = Task::new(template.clone(), context.clone(), task_uuid, correlation_id)
        .map_err(|e| invalid(&e))?
        .with_traceparent(root_ids.as_ref().map(|i| i.traceparent.clone()));
    let actions = task.start();

    let template_json = serde_json::to_value(&template).map_err(|e| invalid(&e))?;
    let mut tx = pool.begin().await?;
    queue::check_declared(&mut tx, &template).await?;
    sqlx::query(
        "INSERT INTO tasker.tasks (task_uuid, correlation_id, namespace, name, version, template, context, trace_id, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(task_uuid)
    .bind(correlation_id)
    .bind(&template.namespace)
    .bind(&template.name)
    .bind(&template.version)
    .bind(&template_json)
    .bind(&context)
    .bind(root_ids.as_ref().map(|i| i.trace_id.as_str()))
    .bind(root_ids.as_ref().map(|i| i.traceparent.as_str()))
    .execute(&mut *tx)
    .await?;
    // Every step row in one statement, the first ready ones already enqueued.
    let dispatched = queue::dispatched(&actions);
    let mut uuids = Vec::with_capacity(template.steps.len());
    let mut statuses = Vec::with_capacity(template.steps.len());
    let mut attempts = Vec::with_capacity(template.steps.len());
    for step in &template.steps {
        uuids.push(
            task.step_uuid(&step.name)
                .ok_or_else(|| DbError::Invalid(format!("no step {:?}", step.name)))?,
        );
        let first = dispatched
            .iter()
            .find(|r| r.sequence.workflow_step.name == step.name);
        statuses.push(db_status(if first.is_some() {
            StepStatus::InFlight
        } else {
            StepStatus::Pending
        }));
        attempts.push(first.map_or(0, |r| {
            i32::try_from(r.sequence.workflow_step.attempt).unwrap_or(i32::MAX)
        }));
    }
    sqlx::query(
        "INSERT INTO tasker.steps (step_uuid, task_uuid, name, queue, status, attempts)
         SELECT u.step_uuid, $1, u.name, u.queue, u.status, u.attempts
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::int4[])
              AS u(step_uuid, name, queue, status, attempts)",
    )
    .bind(task_uuid)
    .bind(&uuids)
    .bind(
        template
            .steps
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<String>>(),
    )
    .bind(
        template
            .steps
            .iter()
            .map(|s| step_queue(&template, s).to_owned())
            .collect::<Vec<String>>(),
    )
    .bind(&statuses)
    .bind(&attempts)
    .execute(&mut *tx)
    .await?;
    queue::send_all(&mut tx, &template, &dispatched).await?;
    tx.commit().await?;
    root.in_scope(|| tracing::info!(steps = template.steps.len(), "task.submitted"));
    Ok(Submitted {
        task_uuid,
        correlation_id,
        trace_id: root_ids.map(|i| i.trace_id),
    })
}

/// The task's result so far, in `run`'s shape: `status` (`running`, `complete` or `error`),
/// `task_uuid`, `correlation_id`, `trace_id`, `step_results` and every step's record.
pub async fn task_status(pool: &PgPool, task_uuid: Uuid) -> Result<Value, DbError> {
    let mut conn = pool.acquire().await?;
    let rows::Stored { row, records, .. } = rows::load_task(&mut conn, task_uuid, false)
        .await?
        .ok_or_else(|| DbError::UnknownTask(task_uuid.to_string()))?;
    let TaskRow {
        correlation_id,
        template,
        context,
        status,
        trace_id,
        ..
    } = row;
    let outcome = Task::restore(template, context, task_uuid, correlation_id, &records)
        .map_err(|e| DbError::Invalid(e.to_string()))?
        .outcome();
    Ok(json!({
        "status": status,
        "task_uuid": task_uuid,
        "correlation_id": correlation_id,
        "trace_id": trace_id,
        "step_results": outcome.step_results,
        "steps": outcome.steps,
    }))
}
