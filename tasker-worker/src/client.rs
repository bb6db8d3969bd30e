//! [`Client`]: submit tasks to the PostgreSQL queues and read them back, from any process,
//! with or without a worker in it. The Ruby and Python `Client` classes are this, converted.
//!
//! A client owns a one-thread runtime and a two-connection pool. Both are made on first use
//! in each process: a client made before a fork is remade in the child, never shared with
//! the parent (the parent's runtime thread does not exist in the child).
//!
//! `submit` opens the task's root span in the client's process, so that process must export
//! it for the trace to be whole. A process whose environment enabled telemetry
//! (`TELEMETRY_ENABLED`: phase 2 deferred) and has no worker yet starts export from its
//! first client, in the client's runtime, as a worker's bootstrap would.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tasker_pgmq::PgPool;
use tasker_shared::workflow::TaskTemplate;
use tasker_shared::{TaskerError, TaskerResult};
use tokio::runtime::Runtime;
use uuid::Uuid;

use crate::blocking::{self, BlockingHost};

/// How often `wait` reads a running task's row: its end is one committed transaction.
const WAIT_POLL: Duration = Duration::from_millis(25);

struct Connected {
    pid: u32,
    runtime: Runtime,
    pool: PgPool,
}

/// A connection to the task database.
pub struct Client {
    url: String,
    connected: Mutex<Option<Connected>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("database_url", &tasker_pgmq::redact(&self.url))
            .finish()
    }
}

impl Client {
    /// A client of `database_url` (`None`: `TASKER_DATABASE_URL`, then `DATABASE_URL`).
    /// Connects and checks that the database is migrated, so a wrong URL fails here.
    pub fn connect(database_url: Option<&str>) -> TaskerResult<Self> {
        let client = Self {
            url: tasker_pgmq::database_url(database_url)?,
            connected: Mutex::new(None),
        };
        client.with_pool(|_| async { Ok(()) })?;
        Ok(client)
    }

    /// The database's URL with its password replaced by `***`.
    pub fn database_url(&self) -> String {
        tasker_pgmq::redact(&self.url)
    }

    fn with_pool<T, F, Fut>(&self, f: F) -> TaskerResult<T>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: std::future::Future<Output = TaskerResult<T>>,
    {
        let mut slot = self
            .connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if let Some(old) = slot.take_if(|c| c.pid != pid) {
            // Made in the parent: its runtime's thread is not in this process, and dropping
            // it would wait for that thread forever.
            std::mem::forget(old);
        }
        if slot.is_none() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tasker-client")
                .enable_all()
                .build()
                .map_err(|e| TaskerError::Internal(format!("cannot create a runtime: {e}")))?;
            if tasker_shared::logging::telemetry_state()
                == tasker_shared::logging::TelemetryState::Deferred
            {
                runtime.block_on(async {
                    let config = tasker_shared::logging::TelemetryConfig::from_env();
                    if let Err(e) = tasker_shared::logging::init_with_config(config) {
                        tracing::error!(error = %e, "OpenTelemetry export could not start; continuing with console logging");
                    }
                });
            }
            let pool = runtime.block_on(async {
                let pool = tasker_pgmq::connect(&self.url, 2).await?;
                tasker_pgmq::check_migrated(&pool, &self.url).await?;
                Ok::<_, tasker_pgmq::DbError>(pool)
            })?;
            *slot = Some(Connected { pid, runtime, pool });
        }
        let c = slot.as_ref().ok_or(TaskerError::Stopped)?;
        let pool = c.pool.clone();
        c.runtime.block_on(f(pool))
    }

    /// Submits a task: its steps go to their queues, and the task's root span (this
    /// process's) is the parent of every step, in every worker. Returns
    /// `{"task_uuid", "correlation_id", "trace_id"}`.
    pub fn submit(&self, template: TaskTemplate, context: Value) -> TaskerResult<Value> {
        template.validate()?;
        tasker_shared::workflow::check_context(&context)?;
        self.with_pool(|pool| async move {
            Ok(tasker_pgmq::submit(&pool, template, context)
                .await?
                .to_json())
        })
    }

    /// The task's result so far, in `run_task`'s shape; `status` is `running` until it ends.
    pub fn status(&self, task_uuid: Uuid) -> TaskerResult<Value> {
        self.with_pool(|pool| async move { Ok(tasker_pgmq::task_status(&pool, task_uuid).await?) })
    }

    /// Waits up to `slice` for the task to end: its result once it has, else `None`.
    pub fn wait_slice(&self, task_uuid: Uuid, slice: Duration) -> TaskerResult<Option<Value>> {
        let until = Instant::now() + slice;
        self.with_pool(|pool| async move {
            loop {
                let status = tasker_pgmq::task_status(&pool, task_uuid).await?;
                if status["status"] != "running" {
                    return Ok(Some(status));
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                tokio::time::sleep(left.min(WAIT_POLL)).await;
            }
        })
    }

    /// Waits for the task to end, with `host`'s lock released, up to `timeout`
    /// ([`TaskerError::TaskTimeout`]; `None` waits as long as it takes).
    pub fn wait<H: BlockingHost>(
        &self,
        host: &H,
        task_uuid: Uuid,
        timeout: Option<Duration>,
    ) -> Result<Value, H::Error> {
        blocking::in_slices(host, timeout, |slice| self.wait_slice(task_uuid, slice))?.ok_or_else(
            || {
                host.error(blocking::task_timeout(
                    task_uuid,
                    timeout.unwrap_or_default(),
                ))
            },
        )
    }
}
