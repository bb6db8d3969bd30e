//! Serving step queues: claim a message, run its step, record the result, exactly once.
//!
//! A claim is a PGMQ read with a visibility timeout: the message stays in its queue, hidden,
//! until the step's result is recorded (see `record`), so a worker that dies mid-step leaves
//! it to reappear and be taken by another.
//!
//! Wake-ups are PostgreSQL notifications sent by the transactions that enqueue steps (on the
//! channel PGMQ's own insert trigger uses), with polling as the fallback: a notification is
//! only a hint, and a worker always claims by reading the queue. PGMQ's trigger is not used:
//! it updates one throttle row per insert, so every transaction that sends to a queue would
//! hold that row until it commits, and all of them would queue up behind each other.
//!
//! The loop is generic over how a step runs (`execute`), so the Rust worker, and later the
//! Ruby and Python hosts, serve through this one implementation.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgPool;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::ReadyStep;

use crate::error::DbError;
use crate::metrics::ServeMetrics;
use crate::options::{ServeOptions, ServeReport};
use crate::outage::Outage;
use crate::queue;
use crate::record::{Claimed, Shared, archive, handle};

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
    let claiming = claim_pool(pool, &options);
    let queues: Vec<(String, String)> = options.queues.iter().cloned().zip(names.clone()).collect();
    let metrics = ServeMetrics::new();
    metrics.declare(&queues);
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
    let report = std::cell::RefCell::new(ServeReport::default());
    let stopping_flag = std::cell::Cell::new(false);
    let shared = Shared {
        pool,
        claims: &claiming,
        options: &options,
        outage: &outage,
        metrics: &metrics,
        report: &report,
        stopping: &stopping_flag,
    };
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
                let claimed = alongside(
                    &mut running,
                    claim(&claiming, queue, name, options.visibility, room),
                )
                .await;
                match claimed {
                    Ok(claims) => {
                        outage.borrow_mut().over();
                        for claimed in claims {
                            report.borrow_mut().claimed += 1;
                            room -= 1;
                            metrics.claimed(queue, claimed.read_ct > 1);
                            running.push(handle(&shared, claimed, &execute));
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
                stopping_flag.set(true);
            }
            Some(done) = running.next(), if !running.is_empty() => failed(done),
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
            match alongside(&mut running, metrics.sample(&claiming, &queues)).await {
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
            listener = alongside(&mut running, listen(pool, &names)).await;
            relisten_at = tokio::time::Instant::now() + RELISTEN;
        }
    }
    drop(running);
    let out = report.borrow().clone();
    Ok(out)
}

/// How often the queue gauges of `/metrics` are read from PGMQ.
const SAMPLE: Duration = Duration::from_secs(2);

/// How often a worker without a LISTEN connection tries to get one back.
const RELISTEN: Duration = Duration::from_secs(5);

/// Connections for claims, visibility changes and metric samples, whose commits need not
/// wait for the disk (`synchronous_commit = off`): a claim lost with a crash of the database
/// only makes its message visible again, which is what a lost worker's claim does anyway.
/// The transaction that records a result stays on `pool`, durable.
fn claim_pool(pool: &PgPool, options: &ServeOptions) -> PgPool {
    let connect = (*pool.connect_options())
        .clone()
        .options([("synchronous_commit", "off")]);
    crate::migrate::pool_options(u32::try_from(options.concurrency.clamp(1, 4)).unwrap_or(4))
        .connect_lazy_with(connect)
}

/// The notifications of `names`, on a dedicated connection; `None` when they cannot be had
/// (polling remains).
async fn listen(pool: &PgPool, names: &[String]) -> Option<sqlx::postgres::PgListener> {
    let channels: Vec<String> = names.iter().map(|n| queue::channel(n)).collect();
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

/// Awaits `fut` while the steps in flight go on running and recording: a recording must
/// never wait for the loop, which may itself be waiting for a connection a recording holds.
async fn alongside<T, S>(running: &mut FuturesUnordered<S>, fut: impl Future<Output = T>) -> T
where
    S: Future<Output = Result<(), DbError>>,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            biased;
            out = &mut fut => return out,
            Some(done) = running.next(), if !running.is_empty() => failed(done),
        }
    }
}

fn failed(done: Result<(), DbError>) {
    if let Err(e) = done {
        tracing::error!(error = %e, "serve: recording a step failed; its message will be redelivered");
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
