//! Worker configuration. Defaults suit an embedded worker; every field can be overridden.

use std::net::SocketAddr;
use std::time::Duration;

use tasker_shared::logging::TelemetryConfig;
use tasker_shared::{TaskerError, TaskerResult};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this worker in `/health`, metrics and step metadata (`worker-xxxxxxxx`).
    pub worker_id: String,
    /// Namespaces this worker serves; empty serves all.
    pub namespaces: Vec<String>,
    /// Handlers that may run at once (host threads, or Rust tasks).
    pub concurrency: usize,
    /// Per-attempt handler timeout, unless the step's template sets `timeout_ms`.
    pub handler_timeout: Duration,
    /// Bound of the dispatch channel and of the step queue.
    pub dispatch_buffer: usize,
    /// Serve `/health` and `/metrics` here (`TASKER_WEB_BIND_ADDRESS`); `None` opens no port.
    pub web_bind_address: Option<SocketAddr>,
    /// Telemetry for phase 2; `None` reads the environment.
    pub telemetry: Option<TelemetryConfig>,
    /// Host language, for `step.<language>_execution_completed` and metric labels.
    pub language: String,
    /// How long `stop` waits for in-flight steps.
    pub drain_timeout: Duration,
    /// The PostgreSQL database `serve` claims steps from; `None` reads `TASKER_DATABASE_URL`,
    /// then `DATABASE_URL`, when serving starts.
    pub database_url: Option<String>,
    /// The queues `serve` takes steps from (template `queue` names).
    pub queues: Vec<String>,
    /// How long an idle `serve` waits before looking at its queues again, when no
    /// notification woke it.
    pub poll_interval: Duration,
    /// Whether `serve` listens for PGMQ's insert notifications (a wake-up hint).
    pub notify: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let id = tasker_shared::ids::new_uuid().simple().to_string();
        Self {
            worker_id: format!("worker-{}", &id[..8]),
            namespaces: Vec::new(),
            concurrency: 4,
            handler_timeout: Duration::from_secs(30),
            dispatch_buffer: 1024,
            web_bind_address: None,
            telemetry: None,
            language: "rust".to_owned(),
            drain_timeout: Duration::from_secs(10),
            database_url: None,
            queues: Vec::new(),
            poll_interval: Duration::from_millis(500),
            notify: true,
        }
    }
}

impl WorkerConfig {
    /// Defaults, with `TASKER_WEB_BIND_ADDRESS` read from the environment.
    pub fn from_env() -> TaskerResult<Self> {
        let mut c = Self::default();
        if let Ok(addr) = std::env::var("TASKER_WEB_BIND_ADDRESS") {
            if !addr.trim().is_empty() {
                c.web_bind_address = Some(addr.trim().parse().map_err(|_| {
                    TaskerError::Config(format!(
                        "TASKER_WEB_BIND_ADDRESS={addr:?} is not a socket address like 0.0.0.0:8082"
                    ))
                })?);
            }
        }
        Ok(c)
    }

    /// What `asked` would change about a worker running with `self`, one entry per setting
    /// (`concurrency: running 4, asked 8`). The worker id is compared only when
    /// `compare_worker_id` (a caller that named one; the default is random per call).
    pub fn differences(&self, asked: &WorkerConfig, compare_worker_id: bool) -> Vec<String> {
        let mut d = Vec::new();
        let mut check = |name: &str, running: String, wanted: String| {
            if running != wanted {
                d.push(format!("{name}: running {running}, asked {wanted}"));
            }
        };
        if compare_worker_id {
            check("worker_id", self.worker_id.clone(), asked.worker_id.clone());
        }
        check(
            "concurrency",
            self.concurrency.to_string(),
            asked.concurrency.to_string(),
        );
        check(
            "handler_timeout",
            format!("{:?}", self.handler_timeout),
            format!("{:?}", asked.handler_timeout),
        );
        check(
            "dispatch_buffer",
            self.dispatch_buffer.to_string(),
            asked.dispatch_buffer.to_string(),
        );
        check(
            "drain_timeout",
            format!("{:?}", self.drain_timeout),
            format!("{:?}", asked.drain_timeout),
        );
        check(
            "namespaces",
            format!("{:?}", self.namespaces),
            format!("{:?}", asked.namespaces),
        );
        check(
            "web_bind_address",
            format!("{:?}", self.web_bind_address),
            format!("{:?}", asked.web_bind_address),
        );
        check("language", self.language.clone(), asked.language.clone());
        let url =
            |c: &WorkerConfig| format!("{:?}", c.database_url.as_deref().map(tasker_pgmq::redact));
        check("database_url", url(self), url(asked));
        check(
            "queues",
            format!("{:?}", self.queues),
            format!("{:?}", asked.queues),
        );
        check(
            "poll_interval",
            format!("{:?}", self.poll_interval),
            format!("{:?}", asked.poll_interval),
        );
        check("notify", self.notify.to_string(), asked.notify.to_string());
        let telemetry = |c: &WorkerConfig| {
            c.telemetry
                .clone()
                .unwrap_or_else(TelemetryConfig::from_env)
        };
        let (running, wanted) = (telemetry(self), telemetry(asked));
        for field in running.export_differences(&wanted) {
            d.push(format!("telemetry {field} differs"));
        }
        d
    }

    /// Checks the numbers that must be positive.
    pub fn validate(&self) -> TaskerResult<()> {
        if self.concurrency == 0 {
            return Err(TaskerError::Config("concurrency must be at least 1".into()));
        }
        if self.dispatch_buffer == 0 {
            return Err(TaskerError::Config(
                "dispatch_buffer must be at least 1".into(),
            ));
        }
        if self.handler_timeout.is_zero() {
            return Err(TaskerError::Config(
                "handler_timeout must be positive".into(),
            ));
        }
        if self.language.is_empty()
            || !self
                .language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(TaskerError::Config(format!(
                "language {:?} must be a word like ruby, python, wasm or rust",
                self.language
            )));
        }
        Ok(())
    }
}
