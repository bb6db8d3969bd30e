//! `make bench`'s distributed figures, against a PostgreSQL the driver (bench/distributed.py)
//! started, with `serve` processes it started. Prints one `BENCH {json}` line.
//!
//! - `floor --clients C --messages N`: raw PGMQ, each client looping send, read, archive:
//!   what any worker on PGMQ pays at least per step.
//! - `throughput --template F --tasks N --submitters S`: N tasks submitted at once, run by
//!   the serving processes; steps/s from the first task's creation to the last one's end
//!   (database clock), and statements per step from `pg_stat_statements`.
//! - `latency --template F --tasks N`: one task at a time; p50/p99 of creation to end, and
//!   of pickup (a first step's message enqueued to read, from PGMQ's archive).
//!
//! Probes of this program carry `bench-probe` so that statement counts leave them out.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Row;
use tasker_pgmq::PgPool;
use tasker_shared::workflow::TaskTemplate;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    mode: String,
    url: String,
    template: Option<String>,
    tasks: usize,
    clients: usize,
    messages: usize,
}

fn args() -> Result<Args, Error> {
    let mut argv = std::env::args();
    let _program = argv.next();
    let mode = argv
        .next()
        .ok_or("usage: distributed_bench MODE --database-url URL ...")?;
    let mut a = Args {
        mode,
        url: String::new(),
        template: None,
        tasks: 100,
        clients: 1,
        messages: 1000,
    };
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--database-url" => a.url = value,
            "--template" => a.template = Some(value),
            "--tasks" => a.tasks = value.parse()?,
            "--clients" | "--submitters" => a.clients = value.parse()?,
            "--messages" => a.messages = value.parse()?,
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    Ok(a)
}

fn pct(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a sample of a few thousand"
    )]
    let i = ((xs.len() as f64 * q) as usize).min(xs.len().saturating_sub(1));
    xs.get(i).copied().unwrap_or(f64::NAN)
}

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of a few thousand, as rates"
)]
fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Raw PGMQ: each of `clients` loops send, read (visibility 30 s), archive.
async fn floor(pool: &PgPool, clients: usize, messages: usize) -> Result<Value, Error> {
    sqlx::query("SELECT pgmq.create('bench_floor')")
        .execute(pool)
        .await?;
    let each = messages / clients.max(1);
    let started = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients {
        let pool = pool.clone();
        joins.push(tokio::spawn(async move {
            let mut cycles = Vec::with_capacity(each);
            for _ in 0..each {
                let t = Instant::now();
                sqlx::query("SELECT pgmq.send('bench_floor', '{\"step\": 1}'::jsonb)")
                    .execute(&pool)
                    .await?;
                // Another client may hold the one just sent (SKIP LOCKED): take any.
                let id: i64 = loop {
                    let got: Option<i64> =
                        sqlx::query_scalar("SELECT msg_id FROM pgmq.read('bench_floor', 30, 1)")
                            .fetch_optional(&pool)
                            .await?;
                    if let Some(id) = got {
                        break id;
                    }
                };
                sqlx::query("SELECT pgmq.archive('bench_floor', $1)")
                    .bind(id)
                    .execute(&pool)
                    .await?;
                cycles.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, sqlx::Error>(cycles)
        }));
    }
    let mut all = Vec::new();
    for j in joins {
        all.extend(j.await??);
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "mode": "floor",
        "clients": clients,
        "messages": all.len(),
        "steps_per_s": per_s(all.len(), elapsed),
        "cycle_p50_ms": pct(&mut all, 0.5),
        "cycle_p99_ms": pct(&mut all, 0.99),
    }))
}

/// The database's clock, as epoch seconds (the tasks of a run are those created after it).
async fn now(pool: &PgPool) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar("/* bench-probe */ SELECT EXTRACT(epoch FROM clock_timestamp())::float8")
        .fetch_one(pool)
        .await
}

async fn statements(pool: &PgPool) -> Option<i64> {
    sqlx::query_scalar(
        "/* bench-probe */ SELECT sum(calls)::bigint FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%bench-probe%' AND query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
}

async fn throughput(
    pool: &PgPool,
    template: TaskTemplate,
    tasks: usize,
    submitters: usize,
) -> Result<Value, Error> {
    let steps = template.steps.len();
    let counting = sqlx::query("/* bench-probe */ SELECT pg_stat_statements_reset()")
        .execute(pool)
        .await
        .is_ok();
    let since = now(pool).await?;
    let mut joins = Vec::new();
    for k in 0..submitters.max(1) {
        let (pool, template) = (pool.clone(), template.clone());
        let mine = (k..tasks).step_by(submitters.max(1)).count();
        joins.push(tokio::spawn(async move {
            for _ in 0..mine {
                tasker_pgmq::submit(&pool, template.clone(), json!({"even_number": 2})).await?;
            }
            Ok::<_, tasker_pgmq::DbError>(())
        }));
    }
    for j in joins {
        j.await??;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let open: i64 = sqlx::query_scalar(
            "/* bench-probe */ SELECT count(*) FROM tasker.tasks WHERE created_at >= to_timestamp($1) AND status = 'running'",
        )
        .bind(since)
        .fetch_one(pool)
        .await?;
        if open == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{open} tasks still running after 600 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statements = if counting {
        statements(pool).await
    } else {
        None
    };
    let row = sqlx::query(
        "/* bench-probe */ SELECT count(*) FILTER (WHERE status = 'complete') AS complete,
                EXTRACT(epoch FROM max(finished_at) - min(created_at))::float8 AS secs
         FROM tasker.tasks WHERE created_at >= to_timestamp($1)",
    )
    .bind(since)
    .fetch_one(pool)
    .await?;
    let complete: i64 = row.try_get("complete")?;
    let secs: f64 = row.try_get("secs")?;
    let total_steps = steps * tasks;
    #[allow(
        clippy::cast_precision_loss,
        reason = "counts of a few thousand, as rates"
    )]
    Ok(json!({
        "mode": "throughput",
        "tasks": tasks,
        "complete": complete,
        "steps": total_steps,
        "steps_per_s": total_steps as f64 / secs,
        "statements_per_step": statements.map(|n| n as f64 / total_steps as f64),
    }))
}

async fn latency(pool: &PgPool, template: TaskTemplate, tasks: usize) -> Result<Value, Error> {
    let queue =
        tasker_pgmq::pgmq_queue_name(tasker_pgmq::step_queue(&template, &template.steps[0]))?;
    let since = now(pool).await?;
    let mut committed = std::collections::HashMap::new();
    for _ in 0..tasks {
        let task = tasker_pgmq::submit(pool, template.clone(), json!({"even_number": 2})).await?;
        // Ready from here: `submit` returns once its transaction committed.
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs_f64();
        committed.insert(task.task_uuid.to_string(), at);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status: String = sqlx::query_scalar(
                "/* bench-probe */ SELECT status FROM tasker.tasks WHERE task_uuid = $1",
            )
            .bind(task.task_uuid)
            .fetch_one(pool)
            .await?;
            if status != "running" {
                break;
            }
            if Instant::now() > deadline {
                return Err("a task did not finish within 30 s".into());
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }
    let mut ends: Vec<f64> = sqlx::query_scalar(
        "/* bench-probe */ SELECT (EXTRACT(epoch FROM finished_at - created_at) * 1000)::float8
         FROM tasker.tasks WHERE created_at >= to_timestamp($1) AND status = 'complete'",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    // The first step of each task, whose message `submit` sent: committed to read.
    let reads: Vec<(String, f64)> = sqlx::query_as(&format!(
        "/* bench-probe */ SELECT message->>'task_uuid', EXTRACT(epoch FROM last_read_at)::float8
         FROM pgmq.a_{queue} WHERE enqueued_at >= to_timestamp($1) AND (message->>'attempt')::int = 1
           AND message->>'step_uuid' IN
           (SELECT step_uuid::text FROM tasker.steps s JOIN tasker.tasks t USING (task_uuid)
            WHERE t.created_at >= to_timestamp($1) AND s.name = $2)"
    ))
    .bind(since)
    .bind(&template.steps[0].name)
    .fetch_all(pool)
    .await?;
    let mut pickups: Vec<f64> = reads
        .iter()
        .filter_map(|(task, read)| committed.get(task).map(|c| (read - c) * 1000.0))
        .collect();
    Ok(json!({
        "mode": "latency",
        "tasks": ends.len(),
        "task_p50_ms": pct(&mut ends, 0.5),
        "task_p99_ms": pct(&mut ends, 0.99),
        "pickup_p50_ms": pct(&mut pickups, 0.5),
        "pickup_p99_ms": pct(&mut pickups, 0.99),
    }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let a = args()?;
    let pool = tasker_pgmq::connect(&a.url, u32::try_from(a.clients.max(1) + 2)?).await?;
    let template = || -> Result<TaskTemplate, Error> {
        Ok(TaskTemplate::from_path(
            a.template.as_deref().ok_or("--template is required")?,
        )?)
    };
    let out = match a.mode.as_str() {
        "floor" => floor(&pool, a.clients, a.messages).await?,
        "throughput" => throughput(&pool, template()?, a.tasks, a.clients).await?,
        "latency" => latency(&pool, template()?, a.tasks).await?,
        other => return Err(format!("unknown mode {other}").into()),
    };
    #[allow(clippy::print_stdout, reason = "the driver reads this line")]
    {
        println!("BENCH {out}");
    }
    Ok(())
}
