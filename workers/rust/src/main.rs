//! `tasker-worker-rust run --template FILE --context JSON [--concurrency N] [--timeout SECS]`
//!
//! Runs one task on the native worker with the example handlers and prints its result as
//! JSON on stdout (logs go to stderr). Exits 0 when the task completed, 1 when it ended in
//! error, 2 on bad usage.

#![allow(
    clippy::print_stdout,
    reason = "the command prints the task result on stdout"
)]

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{RustWorker, handlers};

const USAGE: &str = "usage: tasker-worker-rust run --template FILE [--context JSON] [--concurrency N] [--timeout SECS]

Runs one task with the example handlers (square, sum_dependencies) and prints the
result as JSON. Telemetry follows TELEMETRY_ENABLED and OTEL_* (see docs/telemetry.md);
TASKER_WEB_BIND_ADDRESS serves /health and /metrics while it runs.";

struct Args {
    template: String,
    context: Value,
    concurrency: Option<usize>,
    timeout: Option<Duration>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    match argv.next().as_deref() {
        Some("run") => {}
        Some("-h" | "--help" | "help") => return Err(String::new()),
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("missing command".into()),
    }
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
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tasker-worker-rust: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tasker-worker-rust: {e}");
            ExitCode::from(1)
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
