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

use std::cell::{Cell, RefCell};
use std::future::Future;

use sqlx::PgConnection;
use sqlx::postgres::PgPool;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{ReadyStep, Task, TaskStatus, TaskTemplate};
use uuid::Uuid;

use crate::error::DbError;
use crate::metrics::ServeMetrics;
use crate::options::{ServeOptions, ServeReport};
use crate::outage::{Outage, retrying};
use crate::queue;
use crate::rows;

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
}

/// What every step in flight of one serving loop shares (all polled on the loop's task).
pub(crate) struct Shared<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) claims: &'a PgPool,
    pub(crate) options: &'a ServeOptions,
    pub(crate) outage: &'a RefCell<Outage>,
    pub(crate) metrics: &'a ServeMetrics,
    pub(crate) report: &'a RefCell<ServeReport>,
    /// Set when the loop drains: no step is kept for this worker past that.
    pub(crate) stopping: &'a Cell<bool>,
}

/// A step made ready by a recording and kept for the worker that recorded it (see
/// [`record`]): claimed already, with the ready step the machine made.
pub(crate) struct Next {
    claimed: Claimed,
    ready: ReadyStep,
}

impl Shared<'_> {
    fn count(&self, handled: &Handled) {
        let mut r = self.report.borrow_mut();
        match handled {
            Handled::Recorded => r.recorded += 1,
            Handled::Duplicate => r.duplicates += 1,
        }
    }
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

/// Runs a claimed step and records its result; then, while the recording hands it a step
/// of a queue this worker serves (the next step of the same task, usually), runs that one
/// too, in the same slot: no notification, no claim, no reload between the steps of a task.
pub(crate) async fn handle<F, Fut>(
    shared: &Shared<'_>,
    claimed: Claimed,
    execute: &F,
) -> Result<(), DbError>
where
    F: Fn(ReadyStep) -> Fut,
    Fut: Future<Output = StepExecutionResult>,
{
    let Some((mut claimed, mut ready)) = first(shared, claimed).await? else {
        return Ok(());
    };
    loop {
        let result = execute(ready).await;
        let status = if result.success { "success" } else { "failure" };
        let keep = !shared.stopping.get();
        let (handled, next) = record_retrying(shared, &claimed, result, keep).await?;
        if let Handled::Recorded = handled {
            shared.metrics.recorded(&claimed.queue, status);
        }
        shared.count(&handled);
        let Some(next) = next else {
            return Ok(());
        };
        shared.metrics.claimed(&next.claimed.queue, false);
        shared.report.borrow_mut().claimed += 1;
        (claimed, ready) = (next.claimed, next.ready);
    }
}

/// The step a claimed message names, ready to run; `None` once it was dealt with here (a
/// duplicate archived, a lost attempt recorded).
async fn first(
    shared: &Shared<'_>,
    claimed: Claimed,
) -> Result<Option<(Claimed, ReadyStep)>, DbError> {
    let (pool, options) = (shared.pool, shared.options);
    // Retried through an outage like a recording: giving up here would leave the message to
    // reappear as if a handler had run and its worker been lost.
    let held = &claimed;
    let loaded = retrying(shared.outage, options.visibility, move || async move {
        let mut conn = pool.acquire().await?;
        load(&mut conn, held, false).await
    })
    .await?;
    let ready = loaded.as_ref().and_then(|l| current(l, &claimed));
    let Some(mut ready) = ready else {
        archive(pool, &claimed.pgmq_queue, claimed.msg_id).await?;
        shared.count(&Handled::Duplicate);
        return Ok(None);
    };
    if claimed.read_ct > 1 {
        // The worker that read it before never recorded it: that attempt is lost.
        let lost = StepExecutionResult::failure(
            claimed.step_uuid,
            format!(
                "the worker running attempt {} was lost before it recorded a result",
                claimed.attempt
            ),
            tasker_shared::host::error_types::WORKER_LOST,
            true,
            0,
        );
        let (handled, _) = record_retrying(shared, &claimed, lost, false).await?;
        if let Handled::Recorded = handled {
            shared.metrics.worker_lost(&claimed.queue);
            shared.metrics.recorded(&claimed.queue, "failure");
        }
        shared.report.borrow_mut().redelivered += 1;
        return Ok(None);
    }
    if let Some(ms) = ready.sequence.workflow_step.timeout_ms {
        // The step's own timeout bounds how long its message stays hidden: a worker lost
        // mid-step costs that, not the worker-wide default. Failing that, the message keeps
        // the worker-wide visibility, which is longer: only a lost worker's step would wait
        // more to reappear.
        if let Err(e) = sqlx::query("SELECT pgmq.set_vt($1, $2, $3)")
            .bind(&claimed.pgmq_queue)
            .bind(claimed.msg_id)
            .bind(visibility_secs(options, Some(ms)))
            .execute(shared.claims)
            .await
        {
            tracing::debug!(error = %e, "serve: shortening a claim's visibility failed");
        }
    }
    if claimed.traceparent.is_some() {
        ready.message.traceparent.clone_from(&claimed.traceparent);
    }
    Ok(Some((claimed, ready)))
}

/// How long a claim of a step stays hidden, in seconds: its own `timeout_ms` plus the margin,
/// else the worker-wide visibility.
fn visibility_secs(options: &ServeOptions, timeout_ms: Option<u64>) -> i32 {
    let secs = timeout_ms.map_or(options.visibility.as_secs(), |ms| {
        ms.div_ceil(1000) + options.visibility_margin.as_secs()
    });
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// [`record`], retried with backoff while the database is unreachable (a restart, a
/// failover), for up to the visibility timeout: a result already computed is not given up
/// for an outage shorter than that. Past it, the message reappears and the attempt counts
/// as lost.
async fn record_retrying(
    shared: &Shared<'_>,
    claimed: &Claimed,
    result: StepExecutionResult,
    keep: bool,
) -> Result<(Handled, Option<Next>), DbError> {
    retrying(shared.outage, shared.options.visibility, move || {
        record(shared, claimed, result.clone(), keep)
    })
    .await
}

/// Records one attempt's result in one transaction (see the module docs). With `keep`, the
/// first newly ready step of a queue this worker serves is kept for it: its message goes in
/// already claimed (hidden for the step's visibility, read once), so a crash of this worker
/// leaves it to reappear as any claimed message does.
async fn record(
    shared: &Shared<'_>,
    claimed: &Claimed,
    result: StepExecutionResult,
    keep: bool,
) -> Result<(Handled, Option<Next>), DbError> {
    let mut tx = shared.pool.begin().await?;
    let loaded = load(&mut tx, claimed, true).await?;
    let Some(mut loaded) = loaded.filter(|l| current(l, claimed).is_some()) else {
        archive_in(&mut tx, claimed).await?;
        tx.commit().await?;
        return Ok((Handled::Duplicate, None));
    };
    let before = loaded.task.outcome().steps;
    let actions = loaded
        .task
        .on_result(result)
        .map_err(|e| DbError::Invalid(e.to_string()))?;
    let mut dispatched = queue::dispatched(&actions);
    let mut kept = None;
    if keep {
        for (i, r) in dispatched.iter().enumerate() {
            let q = queue::queue_of(&loaded.template, r)?;
            if shared.options.queues.iter().any(|s| s == q) {
                kept = Some((q.to_owned(), i));
                break;
            }
        }
    }
    let kept = kept.map(|(q, i)| (q, dispatched.remove(i)));
    queue::send_all(&mut tx, &loaded.template, &dispatched).await?;
    let next = match kept {
        Some((queue, ready)) => {
            let secs = visibility_secs(shared.options, ready.sequence.workflow_step.timeout_ms);
            let (pgmq_queue, msg_id) = queue::send_claimed(&mut tx, &queue, ready, secs).await?;
            Some(Next {
                claimed: Claimed {
                    queue,
                    pgmq_queue,
                    msg_id,
                    read_ct: 1,
                    task_uuid: ready.message.task_uuid,
                    step_uuid: ready.message.step_uuid,
                    attempt: ready.sequence.workflow_step.attempt,
                    traceparent: ready.message.traceparent.clone(),
                },
                ready: ready.clone(),
            })
        }
        None => None,
    };
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
    Ok((Handled::Recorded, next))
}

async fn archive_in(conn: &mut PgConnection, claimed: &Claimed) -> Result<(), DbError> {
    sqlx::query("SELECT pgmq.archive($1, $2)")
        .bind(&claimed.pgmq_queue)
        .bind(claimed.msg_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
