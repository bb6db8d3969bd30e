//! The commands on the distributed backend: `migrate`, `submit`, `status`. Each takes
//! `--database-url`, else `TASKER_DATABASE_URL`, else `DATABASE_URL`, and prints JSON.

use serde_json::Value;
use tasker_shared::workflow::TaskTemplate;

/// One parsed database command.
pub(crate) enum Command {
    Migrate,
    Submit { template: String, context: Value },
    Status { task_uuid: String },
}

pub(crate) struct Parsed {
    command: Command,
    database_url: Option<String>,
}

pub(crate) fn parse(cmd: &str, mut argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let (mut url, mut template, mut context, mut positional) =
        (None, None, Value::Object(Default::default()), Vec::new());
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
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ => positional.push(arg),
        }
    }
    let command = match cmd {
        "migrate" => Command::Migrate,
        "submit" => Command::Submit {
            template: template.ok_or("--template is required")?,
            context,
        },
        _ => match positional.as_slice() {
            [task] => Command::Status {
                task_uuid: task.clone(),
            },
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
        if !matches!(parsed.command, Command::Migrate) {
            tasker_pgmq::check_migrated(&pool, &url).await?;
        }
        let out: Value = match parsed.command {
            Command::Migrate => {
                let r = tasker_pgmq::migrate(&pool, &url).await?;
                serde_json::json!({
                    "pgmq_version": r.pgmq_version,
                    "schema_version": r.schema_version,
                    "applied": r.applied,
                })
            }
            Command::Submit { template, context } => {
                let template = TaskTemplate::from_path(&template)
                    .map_err(|e| tasker_pgmq::DbError::Invalid(e.to_string()))?;
                tasker_pgmq::submit(&pool, template, context)
                    .await?
                    .to_json()
            }
            Command::Status { task_uuid } => {
                let uuid = task_uuid.parse().map_err(|_| {
                    tasker_pgmq::DbError::Invalid(format!("{task_uuid:?} is not a task uuid"))
                })?;
                tasker_pgmq::task_status(&pool, uuid).await?
            }
        };
        Ok::<Value, tasker_pgmq::DbError>(out)
    });
    if let Err(e) = tasker_shared::logging::shutdown_telemetry() {
        tracing::warn!(error = %e, "telemetry was not fully exported");
    }
    let out = printed?;
    #[allow(
        clippy::print_stdout,
        reason = "the command prints its result on stdout"
    )]
    {
        println!("{out}");
    }
    Ok(0)
}
