//! Serving step queues: claim a message, run its step, record the result, exactly once.
//!
//! A claim is a PGMQ read with a visibility timeout: the message stays in its queue, hidden,
//! until the step's result is recorded, so a worker that dies mid-step leaves it to reappear
//! and be taken by another. Recording is ONE transaction: the task row is locked, the sans-IO
//! machine is rebuilt from the step rows (`Task::restore`), the result is applied, the newly
//! ready steps are sent, every changed row is written and the message archived. A duplicate
//! or late completion finds its step no longer in flight at that attempt and changes nothing
//! but archiving its message. Handlers therefore run at least once; results count once.
//!
//! A redelivered message (read more than once) is an attempt whose worker was lost: it is
//! recorded as a retryable `worker_lost` failure, so the step is retried through the same
//! path as any failure, or fails for good once its attempts are spent.
//!
//! The loop is generic over how a step runs (`execute`), so the Rust worker, and later the
//! Ruby and Python hosts, serve through this one implementation.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::Value;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Row};
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{Action, ReadyStep, Task, TaskStatus, TaskTemplate};
use uuid::Uuid;

use crate::error::DbError;
use crate::metrics::{DbHealth, ServeMetrics};
use crate::queue::{self, step_queue};
use crate::rows::{self, db_status};

/// How a serving process claims work.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The queues to serve (template `queue` names, without `worker_`/`_queue`).
    pub queues: Vec<String>,
    /// Steps in flight at once in this process.
    pub concurrency: usize,
    /// How long a claimed message stays hidden when its step sets no `timeout_ms`: longer
    /// than a step may run (the worker's handler timeout plus a margin).
    pub visibility: Duration,
    /// Added to a step's own `timeout_ms` for its message's visibility timeout.
    pub visibility_margin: Duration,
    /// How long an idle worker waits before looking again: the fallback when a wake-up
    /// is missed (a dropped LISTEN connection, PgBouncer in transaction mode).
    pub poll_interval: Duration,
    /// Wake on PGMQ's insert notifications (LISTEN/NOTIFY) as well as by polling. They are
    /// only a hint: a worker always claims by reading the queue.
    pub notify: bool,
    /// Where the loop reports whether the database answers (for `/health/ready`).
    pub health: DbHealth,
}

/// What a serving run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeReport {
    pub claimed: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub redelivered: u64,
}

/// One claimed message.
#[derive(Debug, Clone)]
struct Claimed {
    queue: String,
    pgmq_queue: String,
    msg_id: i64,
    read_ct: i32,
    task_uuid: Uuid,
    step_uuid: Uuid,
    attempt: u32,
    traceparent: Option<String>,
}

enum Handled {
    Recorded,
    Duplicate,
    Redelivered,
}

/// Serves `options.queues` until `shutdown` resolves, then stops claiming and finishes the
/// steps it holds. `execute` runs one step and returns its result.
pub async fn serve<F, Fut>(
    pool: &PgPool,
    options: ServeOptions,
    execute: F,
    shutdown: impl Future<Output = ()>,
) -> Result<ServeReport, DbError>
where
    F: Fn(ReadyStep) -> Fut,
    Fut: Future<Output = StepExecutionResult>,
{
    let names = queue::declare_queues(pool, &options.queues).await?;
    let queues: Vec<(String, String)> = options.queues.iter().cloned().zip(names.clone()).collect();
    let metrics = ServeMetrics::new();
    let mut sample_at = tokio::time::Instant::now();
    let mut relisten_at = tokio::time::Instant::now() + RELISTEN;
    let mut listener = if options.notify {
        listen(pool, &names).await
    } else {
        None
    };
    tracing::info!(
        queues = ?options.queues,
        concurrency = options.concurrency,
        notify = listener.is_some(),
        poll_interval_ms = u64::try_from(options.poll_interval.as_millis()).unwrap_or(u64::MAX),
        "serving"
    );
    // Shared by the claims and every step's recording (all polled on this one task), so an
    // outage is logged once, whichever notices it first.
    let outage = std::cell::RefCell::new(Outage::new(options.health.clone()));
    let mut report = ServeReport::default();
    let mut running = FuturesUnordered::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut stopping = false;
    loop {
        if stopping && running.is_empty() {
            break;
        }
        let mut room = options.concurrency.max(1).saturating_sub(running.len());
        let mut pause = options.poll_interval;
        if !stopping {
            for (queue, name) in &queues {
                if room == 0 {
                    break;
                }
                match claim(pool, queue, name, options.visibility, room).await {
                    Ok(claims) => {
                        outage.borrow_mut().over();
                        for claimed in claims {
                            report.claimed += 1;
                            room -= 1;
                            metrics.claimed(queue, claimed.read_ct > 1);
                            running
                                .push(handle(pool, claimed, &execute, &options, &outage, &metrics));
                        }
                    }
                    Err(e) => {
                        pause = outage.borrow_mut().failed(&e);
                        break;
                    }
                }
            }
        }
        tokio::select! {
            () = &mut shutdown, if !stopping => {
                tracing::info!(in_flight = running.len(), "serve: stopping; finishing the steps held");
                stopping = true;
            }
            Some(done) = running.next(), if !running.is_empty() => match done {
                Ok(Handled::Recorded) => report.recorded += 1,
                Ok(Handled::Duplicate) => report.duplicates += 1,
                Ok(Handled::Redelivered) => report.redelivered += 1,
                Err(e) => tracing::error!(error = %e, "serve: recording a step failed; its message will be redelivered"),
            },
            () = tokio::time::sleep(pause), if room > 0 && !stopping => {}
            () = tokio::time::sleep_until(sample_at), if !stopping => {}
            woken = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await,
                    None => std::future::pending().await,
                }
            }, if room > 0 && !stopping => {
                if let Err(e) = woken {
                    tracing::warn!(error = %e, "serve: the LISTEN connection failed; polling every {:?} until it is back", options.poll_interval);
                    listener = None;
                }
            }
        }
        if !stopping && sample_at <= tokio::time::Instant::now() {
            sample_at = tokio::time::Instant::now() + SAMPLE;
            match metrics.sample(pool, &queues).await {
                Ok(()) => outage.borrow_mut().over(),
                Err(e) => {
                    let _ = outage.borrow_mut().failed(&e);
                }
            }
        }
        if options.notify
            && listener.is_none()
            && !stopping
            && outage.borrow().since.is_none()
            && relisten_at <= tokio::time::Instant::now()
        {
            listener = listen(pool, &names).await;
            relisten_at = tokio::time::Instant::now() + RELISTEN;
        }
    }
    Ok(report)
}

/// A database outage, logged once when it starts and once when it ends (not per retry),
/// with a backoff between retries that doubles up to 5 s.
#[derive(Debug)]
struct Outage {
    since: Option<std::time::Instant>,
    backoff: Duration,
    health: DbHealth,
}

impl Outage {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new(health: DbHealth) -> Self {
        health.set(None);
        Self {
            since: None,
            backoff: Self::FIRST,
            health,
        }
    }

    /// Records a failure; returns how long to wait before the next try.
    fn failed(&mut self, e: &DbError) -> Duration {
        self.health.set(Some(e.to_string()));
        if self.since.is_none() {
            tracing::error!(error = %e, "serve: the database is unreachable; retrying with backoff until it is back");
            self.since = Some(std::time::Instant::now());
            self.backoff = Self::FIRST;
        } else {
            self.backoff = (self.backoff * 2).min(Self::MAX);
        }
        self.backoff
    }

    fn over(&mut self) {
        if let Some(since) = self.since.take() {
            self.health.set(None);
            tracing::info!(
                down_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "serve: the database is back"
            );
        }
    }
}

/// How often the queue gauges of `/metrics` are read from PGMQ.
const SAMPLE: Duration = Duration::from_secs(2);

/// How often a worker without a LISTEN connection tries to get one back.
const RELISTEN: Duration = Duration::from_secs(5);

/// PGMQ's insert notifications for `names` (enabled with no throttle, so a worker wakes at
/// each send), on a dedicated connection; `None` when they cannot be had (polling remains).
async fn listen(pool: &PgPool, names: &[String]) -> Option<sqlx::postgres::PgListener> {
    for name in names {
        let enabled: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pgmq.notify_insert_throttle WHERE queue_name = $1 AND throttle_interval_ms = 0)",
        )
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap_or(false);
        if !enabled {
            // Another worker enabling it at the same moment may make this one fail; the
            // notifications are on either way.
            if let Err(e) = sqlx::query("SELECT pgmq.enable_notify_insert($1, 0)")
                .bind(name)
                .execute(pool)
                .await
            {
                tracing::debug!(error = %e, queue = %name, "serve: enabling insert notifications");
            }
        }
    }
    let channels: Vec<String> = names.iter().map(|n| format!("pgmq.q_{n}.INSERT")).collect();
    let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "serve: LISTEN is unavailable; polling only");
            return None;
        }
    };
    match listener
        .listen_all(channels.iter().map(String::as_str))
        .await
    {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "serve: LISTEN is unavailable; polling only");
            None
        }
    }
}

async fn claim(
    pool: &PgPool,
    queue: &str,
    pgmq_queue: &str,
    visibility: Duration,
    qty: usize,
) -> Result<Vec<Claimed>, DbError> {
    let vt = i32::try_from(visibility.as_secs().max(1)).unwrap_or(i32::MAX);
    let rows = sqlx::query("SELECT msg_id, read_ct, message, headers FROM pgmq.read($1, $2, $3)")
        .bind(pgmq_queue)
        .bind(vt)
        .bind(i32::try_from(qty).unwrap_or(i32::MAX))
        .fetch_all(pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let message: Value = r.try_get("message")?;
        let headers: Option<Value> = r.try_get("headers")?;
        let uuid = |k: &str| {
            message
                .get(k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
        };
        let (Some(task_uuid), Some(step_uuid)) = (uuid("task_uuid"), uuid("step_uuid")) else {
            tracing::warn!(%message, "serve: a message that names no step; archived");
            archive(pool, pgmq_queue, r.try_get("msg_id")?).await?;
            continue;
        };
        out.push(Claimed {
            queue: queue.to_owned(),
            pgmq_queue: pgmq_queue.to_owned(),
            msg_id: r.try_get("msg_id")?,
            read_ct: r.try_get("read_ct")?,
            task_uuid,
            step_uuid,
            attempt: message
                .get("attempt")
                .and_then(Value::as_u64)
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(1),
            traceparent: headers
                .as_ref()
                .and_then(|h| h.get("traceparent"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    Ok(out)
}

async fn archive(pool: &PgPool, pgmq_queue: &str, msg_id: i64) -> Result<(), DbError> {
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
    let Some(row) = rows::task_row(conn, claimed.task_uuid, lock).await? else {
        return Ok(None);
    };
    let (records, mut names) = rows::step_records(conn, claimed.task_uuid).await?;
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

async fn handle<F, Fut>(
    pool: &PgPool,
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
    let ready = {
        let mut conn = pool.acquire().await?;
        load(&mut conn, &claimed, false)
            .await?
            .as_ref()
            .and_then(|l| current(l, &claimed))
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
        sqlx::query("SELECT pgmq.set_vt($1, $2, $3)")
            .bind(&claimed.pgmq_queue)
            .bind(claimed.msg_id)
            .bind(i32::try_from(secs).unwrap_or(i32::MAX))
            .execute(pool)
            .await?;
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
    for action in &actions {
        if let Action::Dispatch(ready) = action {
            let step = loaded
                .template
                .steps
                .iter()
                .find(|s| s.name == ready.sequence.workflow_step.name)
                .ok_or_else(|| {
                    DbError::Invalid("a dispatched step is not in its template".into())
                })?;
            queue::send(&mut tx, step_queue(&loaded.template, step), ready).await?;
        }
    }
    let outcome = loaded.task.outcome();
    for (name, rec) in &outcome.steps {
        if before.get(name) == Some(rec) {
            continue;
        }
        sqlx::query(
            "UPDATE tasker.steps SET status = $1, attempts = $2, result = $3, error = $4, error_type = $5,
                 execution_time_ms = $6, updated_at = now()
             WHERE task_uuid = $7 AND name = $8",
        )
        .bind(db_status(rec.status))
        .bind(i32::try_from(rec.attempts).unwrap_or(i32::MAX))
        .bind((!rec.result.is_null()).then(|| rec.result.clone()))
        .bind(&rec.error)
        .bind(&rec.error_type)
        .bind(i64::try_from(rec.execution_time_ms).unwrap_or(i64::MAX))
        .bind(claimed.task_uuid)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(status) = match loaded.task.status() {
        TaskStatus::Complete => Some("complete"),
        TaskStatus::Error => Some("error"),
        TaskStatus::Pending | TaskStatus::Running => None,
    } {
        sqlx::query(
            "UPDATE tasker.tasks SET status = $1, finished_at = now() WHERE task_uuid = $2",
        )
        .bind(status)
        .bind(claimed.task_uuid)
        .execute(&mut *tx)
        .await?;
    }
    archive_in(&mut tx, claimed).await?;
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
