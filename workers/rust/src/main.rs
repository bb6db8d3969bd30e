//! `tasker-worker-rust run --template FILE --context JSON [--concurrency N] [--timeout SECS]`
//! runs one task on the native worker with the example handlers and prints its result as
//! JSON on stdout (logs go to stderr). Exits 0 when the task completed, 1 when it ended in
//! error, 2 on bad usage.
//!
//! `migrate`, `submit` and `status` work on the distributed backend in PostgreSQL
//! (`commands`, docs/distributed.md).

#![allow(
    clippy::print_stdout,
    reason = "the command prints the task result on stdout"
)]

mod commands;

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{RustWorker, handlers};

const USAGE: &str = "usage: tasker-worker-rust run --template FILE [--context JSON] [--concurrency N] [--timeout SECS]
       tasker-worker-rust migrate [--queue Q]... [--database-url URL]
       tasker-worker-rust submit --template FILE [--context JSON] [--wait [--timeout S]] [--database-url URL]
       tasker-worker-rust status TASK_UUID [--database-url URL]
       tasker-worker-rust serve --queue Q [--queue Q]... [--concurrency N] [--poll-interval-ms MS] [--no-notify] [--database-url URL]

run      Runs one task in this process with the example handlers (square,
         sum_dependencies, sleep) and prints the result as JSON. Telemetry follows
         TELEMETRY_ENABLED and OTEL_* (see docs/telemetry.md); TASKER_WEB_BIND_ADDRESS
         serves /health and /metrics while it runs.
migrate  Installs PGMQ and tasker's schema in PostgreSQL; safe to run again, and from
         several processes at once. The database is --database-url, else
         TASKER_DATABASE_URL, else DATABASE_URL. --queue declares a queue, so
         tasks can be submitted to it before any worker serves it.
submit   Submits a task to the database and prints {task_uuid, correlation_id,
         trace_id}; its ready steps wait in PGMQ queues worker_<queue>_queue, each
         declared by a serve or migrate --queue (an unknown queue is refused). With
         --wait, prints the task's result in run's shape once it ends: exit 0 complete,
         1 error, 2 still running after --timeout (default 30 s).
status   Prints the task's result so far, in run's shape (status running, complete
         or error).
serve    Declares the named queues and runs the steps waiting there with the example
         handlers until SIGINT/SIGTERM, then stops claiming, finishes what it holds and
         exits 0. It
         wakes on the notifications of the transactions that enqueue steps, and polls
         every --poll-interval-ms (default 500) for what a notification missed;
         --no-notify polls only (PgBouncer in transaction mode cannot LISTEN).";

struct Args {
    template: String,
    context: Value,
    concurrency: Option<usize>,
    timeout: Option<Duration>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut template, mut context, mut concurrency, mut timeout) =
        (None, Value::Object(Default::default()), None, None);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--template" => template = Some(value()?),
            "--context" => {
                let text = value()?;
                context = serde_json::from_str(&text)
                    .map_err(|e| format!("--context is not JSON: {e}"))?;
            }
            "--concurrency" => {
                let text = value()?;
                concurrency = Some(
                    text.parse()
                        .map_err(|_| format!("--concurrency {text:?} is not a whole number"))?,
                );
            }
            "--timeout" => {
                let text = value()?;
                let secs: f64 = text
                    .parse()
                    .map_err(|_| format!("--timeout {text:?} is not a number of seconds"))?;
                timeout = Some(Duration::try_from_secs_f64(secs).map_err(|_| {
                    format!("--timeout {text:?} is not a positive number of seconds")
                })?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Args {
        template: template.ok_or("--template is required")?,
        context,
        concurrency,
        timeout,
    })
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let outcome = match argv.next().as_deref() {
        Some("run") => parse(argv).map(|a| run(a).map(|complete| u8::from(!complete))),
        Some(cmd @ ("migrate" | "submit" | "status" | "serve")) => {
            commands::parse(cmd, argv).map(commands::run)
        }
        Some("-h" | "--help" | "help") => Err(String::new()),
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err("missing command".into()),
    };
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("tasker-worker-rust: {e}");
            ExitCode::from(1)
        }
        Err(e) if e.is_empty() => {
            eprintln!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tasker-worker-rust: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    tasker_shared::logging::init_console_only();
    let template = TaskTemplate::from_path(&args.template)?;
    let mut config = WorkerConfig::from_env()?;
    if let Some(n) = args.concurrency {
        config.concurrency = n;
    }
    let worker = RustWorker::start(config, handlers::example_registry())?;
    let result = worker.run_task(template, args.context, args.timeout);
    let stopped = worker.stop();
    let result = result?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Err(e) = stopped {
        eprintln!("tasker-worker-rust: warning: {e}");
    }
    Ok(result.is_complete())
}
