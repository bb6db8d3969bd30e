//! The commands on the distributed backend: `migrate`, `submit`, `status` and `serve`. Each
//! takes `--database-url`, else `TASKER_DATABASE_URL`, else `DATABASE_URL`, and prints JSON.

use serde_json::Value;
use tasker_shared::workflow::TaskTemplate;

/// One parsed command.
pub(crate) enum Command {
    Once(Once),
    Serve {
        queues: Vec<String>,
        concurrency: Option<usize>,
        poll_interval: std::time::Duration,
        /// `--no-notify`: poll only (PgBouncer in transaction mode cannot LISTEN).
        notify: bool,
    },
}

/// A command that does one thing against the database and prints it.
pub(crate) enum Once {
    /// Installs the schema, and declares `queues` for tasks submitted before any worker
    /// serves them.
    Migrate {
        queues: Vec<String>,
    },
    Submit {
        template: String,
        context: Value,
        /// `--wait`: how long to wait for the task's end (`--timeout`, default 30 s).
        wait: Option<std::time::Duration>,
    },
    Status {
        task_uuid: String,
    },
}

pub(crate) struct Parsed {
    command: Command,
    database_url: Option<String>,
}

pub(crate) fn parse(cmd: &str, mut argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let (mut url, mut template, mut context, mut positional) =
        (None, None, Value::Object(Default::default()), Vec::new());
    let (mut queues, mut concurrency) = (Vec::new(), None);
    let (mut wait, mut timeout) = (false, std::time::Duration::from_secs(30));
    let mut poll_interval = std::time::Duration::from_millis(500);
    let mut notify = true;
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--database-url" => url = Some(value()?),
            "--template" if cmd == "submit" => template = Some(value()?),
            "--context" if cmd == "submit" => {
                let text = value()?;
                context = serde_json::from_str(&text)
                    .map_err(|e| format!("--context is not JSON: {e}"))?;
            }
            "--queue" if cmd == "serve" || cmd == "migrate" => queues.push(value()?),
            "--wait" if cmd == "submit" => wait = true,
            "--no-notify" if cmd == "serve" => notify = false,
            "--poll-interval-ms" if cmd == "serve" => {
                let text = value()?;
                poll_interval = text
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(std::time::Duration::from_millis)
                    .ok_or_else(|| {
                        format!("--poll-interval-ms {text:?} is not a positive whole number")
                    })?;
            }
            "--timeout" if cmd == "submit" => {
                let text = value()?;
                timeout = text
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| {
                        format!("--timeout {text:?} is not a positive number of seconds")
                    })?;
            }
            "--concurrency" if cmd == "serve" => {
                let text = value()?;
                concurrency = Some(text.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(
                    || format!("--concurrency {text:?} is not a positive whole number"),
                )?);
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ => positional.push(arg),
        }
    }
    let command = match cmd {
        "migrate" => Command::Once(Once::Migrate { queues }),
        "submit" => Command::Once(Once::Submit {
            template: template.ok_or("--template is required")?,
            context,
            wait: wait.then_some(timeout),
        }),
        "serve" if queues.is_empty() => return Err("serve needs at least one --queue".into()),
        "serve" => Command::Serve {
            queues,
            concurrency,
            poll_interval,
            notify,
        },
        _ => match positional.as_slice() {
            [task] => Command::Once(Once::Status {
                task_uuid: task.clone(),
            }),
            _ => return Err("status takes one TASK_UUID".into()),
        },
    };
    if cmd != "status" && !positional.is_empty() {
        return Err(format!("unexpected argument {:?}", positional[0]));
    }
    Ok(Parsed {
        command,
        database_url: url,
    })
}

/// Runs a database command; `Ok(0)` once its JSON is printed.
pub(crate) fn run(parsed: Parsed) -> Result<u8, Box<dyn std::error::Error>> {
    tasker_shared::logging::init_console_only();
    let url = tasker_pgmq::database_url(parsed.database_url.as_deref())?;
    let once = match parsed.command {
        Command::Serve {
            queues,
            concurrency,
            poll_interval,
            notify,
        } => return serve(&url, queues, concurrency, poll_interval, notify),
        Command::Once(once) => once,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let printed = rt.block_on(async {
        // Phase 2 inside the runtime: gRPC export needs one. The root span of a submitted
        // task is exported from here.
        if let Err(e) = tasker_shared::logging::init_tracing() {
            tracing::warn!(error = %e, "telemetry export could not start");
        }
        let pool = tasker_pgmq::connect(&url, 2).await?;
        if !matches!(once, Once::Migrate { .. }) {
            tasker_pgmq::check_migrated(&pool, &url).await?;
        }
        let mut code = 0;
        let out: Value = match once {
            Once::Migrate { queues } => {
                let r = tasker_pgmq::migrate(&pool, &url).await?;
                let declared = tasker_pgmq::declare_queues(&pool, &queues).await?;
                serde_json::json!({
                    "pgmq_version": r.pgmq_version,
                    "schema_version": r.schema_version,
                    "applied": r.applied,
                    "queues": declared,
                })
            }
            Once::Submit {
                template,
                context,
                wait,
            } => {
                let template = TaskTemplate::from_path(&template)
                    .map_err(|e| tasker_pgmq::DbError::Invalid(e.to_string()))?;
                let submitted = tasker_pgmq::submit(&pool, template, context).await?;
                match wait {
                    None => submitted.to_json(),
                    Some(limit) => {
                        let result = wait_for_end(&pool, submitted.task_uuid, limit).await?;
                        // 0 complete, 1 error, 2 still running at the timeout.
                        code = match result["status"].as_str() {
                            Some("error") => 1,
                            Some("running") => 2,
                            _ => 0,
                        };
                        result
                    }
                }
            }
            Once::Status { task_uuid } => {
                let uuid = task_uuid.parse().map_err(|_| {
                    tasker_pgmq::DbError::Invalid(format!("{task_uuid:?} is not a task uuid"))
                })?;
                tasker_pgmq::task_status(&pool, uuid).await?
            }
        };
        Ok::<(Value, u8), tasker_pgmq::DbError>((out, code))
    });
    // A loss is logged there, once, as a WARN; it does not change the command's outcome.
    let _ = tasker_shared::logging::shutdown_report();
    let (out, code) = printed?;
    #[allow(
        clippy::print_stdout,
        reason = "the command prints its result on stdout"
    )]
    {
        println!("{out}");
    }
    Ok(code)
}

/// The task's result once it ends, or as it stands when `limit` passes (status `running`).
/// Polls the task row: its end is one committed transaction, so there is nothing to miss.
async fn wait_for_end(
    pool: &tasker_pgmq::PgPool,
    task_uuid: tasker_pgmq::Uuid,
    limit: std::time::Duration,
) -> Result<Value, tasker_pgmq::DbError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = tasker_pgmq::task_status(pool, task_uuid).await?;
        if status["status"] != "running" || tokio::time::Instant::now() >= deadline {
            return Ok(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Serves the queues with the example handlers until SIGINT or SIGTERM, then stops claiming,
/// finishes the steps it holds, flushes telemetry and prints what it did.
fn serve(
    url: &str,
    queues: Vec<String>,
    concurrency: Option<usize>,
    poll_interval: std::time::Duration,
    notify: bool,
) -> Result<u8, Box<dyn std::error::Error>> {
    let mut config = tasker_worker::WorkerConfig::from_env()?;
    if let Some(n) = concurrency {
        config.concurrency = n;
    }
    config.database_url = Some(url.to_owned());
    config.queues = queues;
    config.poll_interval = poll_interval;
    config.notify = notify;
    let rust = tasker_worker_rust::RustWorker::start(
        config,
        tasker_worker_rust::handlers::example_registry(),
    )?;
    let worker = rust.worker().clone();
    let report = worker
        .runtime_handle()
        .block_on(worker.serve(stop_signal()));
    let stopped = rust.stop();
    let report = report?;
    // A telemetry loss is the stop's own WARN; an error here is the caller's (a fork).
    if let Err(e) = stopped {
        tracing::warn!(error = %e, "the worker could not be stopped");
    }
    #[allow(
        clippy::print_stdout,
        reason = "the command prints its report on stdout"
    )]
    {
        println!("{}", serde_json::to_value(&report)?);
    }
    Ok(0)
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot listen for SIGINT/SIGTERM; serve until killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
