//! Running a claimed step and recording its result, exactly once.
//!
//! Recording is ONE transaction: the task row is locked, the sans-IO machine is rebuilt
//! from the step rows (`Task::restore`), the result is applied, the newly ready steps are
//! sent, every changed row is written and the message archived. A duplicate or late
//! completion finds its step no longer in flight at that attempt and changes nothing but
//! archiving its message. Handlers therefore run at least once; results count once.
//!
//! A redelivered message (read more than once) is an attempt whose worker was lost: it is
//! recorded as a retryable `worker_lost` failure, so the step is retried through the same
//! path as any failure, or fails for good once its attempts are spent.

use std::future::Future;
use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::PgPool;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{ReadyStep, Task, TaskStatus, TaskTemplate};
use uuid::Uuid;

use crate::error::DbError;
use crate::metrics::ServeMetrics;
use crate::outage::Outage;
use crate::queue;
use crate::rows;
use crate::serve::ServeOptions;

/// One claimed message.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) queue: String,
    pub(crate) pgmq_queue: String,
    pub(crate) msg_id: i64,
    pub(crate) read_ct: i32,
    pub(crate) task_uuid: Uuid,
    pub(crate) step_uuid: Uuid,
    pub(crate) attempt: u32,
    pub(crate) traceparent: Option<String>,
}

pub(crate) enum Handled {
    Recorded,
    Duplicate,
    Redelivered,
}

pub(crate) async fn archive(pool: &PgPool, pgmq_queue: &str, msg_id: i64) -> Result<(), DbError> {
    sqlx::query("SELECT pgmq.archive($1, $2)")
        .bind(pgmq_queue)
        .bind(msg_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A task as its rows hold it.
struct Loaded {
    task: Task,
    template: TaskTemplate,
    step_name: String,
}

async fn load(
    conn: &mut PgConnection,
    claimed: &Claimed,
    lock: bool,
) -> Result<Option<Loaded>, DbError> {
    let Some(rows::Stored {
        row,
        records,
        mut names,
    }) = rows::load_task(conn, claimed.task_uuid, lock).await?
    else {
        return Ok(None);
    };
    let Some(step_name) = names.remove(&claimed.step_uuid) else {
        return Ok(None);
    };
    let task = Task::restore(
        row.template.clone(),
        row.context,
        claimed.task_uuid,
        row.correlation_id,
        &records,
    )
    .map_err(|e| DbError::Invalid(e.to_string()))?
    .with_traceparent(row.traceparent);
    Ok(Some(Loaded {
        task,
        template: row.template,
        step_name,
    }))
}

/// The claimed step at the attempt its message names, if it is still waiting for it.
fn current(loaded: &Loaded, claimed: &Claimed) -> Option<ReadyStep> {
    loaded
        .task
        .in_flight_step(&loaded.step_name)
        .filter(|r| r.sequence.workflow_step.attempt == claimed.attempt)
}

pub(crate) async fn handle<F, Fut>(
    pool: &PgPool,
    claims: &PgPool,
    claimed: Claimed,
    execute: &F,
    options: &ServeOptions,
    outage: &std::cell::RefCell<Outage>,
    metrics: &ServeMetrics,
) -> Result<Handled, DbError>
where
    F: Fn(ReadyStep) -> Fut,
    Fut: Future<Output = StepExecutionResult>,
{
    // Retried through an outage like a recording: giving up here would leave the message to
    // reappear as if a handler had run and its worker been lost.
    let deadline = tokio::time::Instant::now() + options.visibility;
    let mut backoff = Outage::FIRST;
    let ready = loop {
        let loaded = async {
            let mut conn = pool.acquire().await?;
            load(&mut conn, &claimed, false).await
        }
        .await;
        match loaded {
            Ok(loaded) => {
                outage.borrow_mut().over();
                break loaded.as_ref().and_then(|l| current(l, &claimed));
            }
            Err(e @ (DbError::Sql(_) | DbError::Unreachable { .. }))
                if tokio::time::Instant::now() + backoff < deadline =>
            {
                let _ = outage.borrow_mut().failed(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Outage::MAX);
            }
            Err(e) => return Err(e),
        }
    };
    let Some(mut ready) = ready else {
        archive(pool, &claimed.pgmq_queue, claimed.msg_id).await?;
        return Ok(Handled::Duplicate);
    };
    if claimed.read_ct > 1 {
        // The worker that read it before never recorded it: that attempt is lost.
        let lost = StepExecutionResult::failure(
            claimed.step_uuid,
            format!(
                "the worker running attempt {} was lost before it recorded a result",
                claimed.attempt
            ),
            "worker_lost",
            true,
            0,
        );
        if let Handled::Recorded =
            record_retrying(pool, &claimed, lost, options.visibility, outage).await?
        {
            metrics.worker_lost(&claimed.queue);
        }
        return Ok(Handled::Redelivered);
    }
    if let Some(ms) = ready.sequence.workflow_step.timeout_ms {
        // The step's own timeout bounds how long its message stays hidden: a worker lost
        // mid-step costs that, not the worker-wide default.
        let secs = ms.div_ceil(1000) + options.visibility_margin.as_secs();
        // Failing that, the message keeps the worker-wide visibility, which is longer: only
        // a lost worker's step would wait more to reappear.
        if let Err(e) = sqlx::query("SELECT pgmq.set_vt($1, $2, $3)")
            .bind(&claimed.pgmq_queue)
            .bind(claimed.msg_id)
            .bind(i32::try_from(secs).unwrap_or(i32::MAX))
            .execute(claims)
            .await
        {
            tracing::debug!(error = %e, "serve: shortening a claim's visibility failed");
        }
    }
    if claimed.traceparent.is_some() {
        ready.message.traceparent.clone_from(&claimed.traceparent);
    }
    let result = execute(ready).await;
    record_retrying(pool, &claimed, result, options.visibility, outage).await
}

/// [`record`], retried with backoff while the database is unreachable (a restart, a
/// failover), for up to `patience`: a result already computed is not given up for an
/// outage shorter than that. Past it, the message reappears and the attempt counts as lost.
async fn record_retrying(
    pool: &PgPool,
    claimed: &Claimed,
    result: StepExecutionResult,
    patience: Duration,
    outage: &std::cell::RefCell<Outage>,
) -> Result<Handled, DbError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Outage::FIRST;
    loop {
        match record(pool, claimed, result.clone()).await {
            Ok(h) => {
                outage.borrow_mut().over();
                return Ok(h);
            }
            Err(e @ (DbError::Sql(_) | DbError::Unreachable { .. }))
                if tokio::time::Instant::now() + backoff < deadline =>
            {
                let _ = outage.borrow_mut().failed(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Outage::MAX);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records one attempt's result in one transaction (see the module docs).
async fn record(
    pool: &PgPool,
    claimed: &Claimed,
    result: StepExecutionResult,
) -> Result<Handled, DbError> {
    let mut tx = pool.begin().await?;
    let loaded = load(&mut tx, claimed, true).await?;
    let Some(mut loaded) = loaded.filter(|l| current(l, claimed).is_some()) else {
        archive_in(&mut tx, claimed).await?;
        tx.commit().await?;
        return Ok(Handled::Duplicate);
    };
    let before = loaded.task.outcome().steps;
    let actions = loaded
        .task
        .on_result(result)
        .map_err(|e| DbError::Invalid(e.to_string()))?;
    queue::send_all(&mut tx, &loaded.template, &queue::dispatched(&actions)).await?;
    let outcome = loaded.task.outcome();
    let changed = outcome
        .steps
        .iter()
        .filter(|(name, rec)| before.get(*name) != Some(*rec));
    let finished = match loaded.task.status() {
        TaskStatus::Complete => Some("complete"),
        TaskStatus::Error => Some("error"),
        TaskStatus::Pending | TaskStatus::Running => None,
    };
    rows::save(
        &mut tx,
        claimed.task_uuid,
        changed,
        finished,
        (&claimed.pgmq_queue, claimed.msg_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Handled::Recorded)
}

async fn archive_in(conn: &mut PgConnection, claimed: &Claimed) -> Result<(), DbError> {
    sqlx::query("SELECT pgmq.archive($1, $2)")
        .bind(&claimed.pgmq_queue)
        .bind(claimed.msg_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
