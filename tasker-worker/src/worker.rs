//! The worker handle: starts the runtime pieces, runs tasks, and stops gracefully.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tasker_shared::logging;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{ReadyStep, TaskTemplate};
use tasker_shared::{TaskerError, TaskerResult};
use tokio::runtime::{Handle, Runtime};

use crate::blocking::Plain;
use crate::bridge::EventBridge;
use crate::config::WorkerConfig;
use crate::driver::{self, Steps, TaskResult};
use crate::processor::CommandProcessor;
use crate::task_run::TaskRun;
use crate::web::{Readiness, ReadinessCheck, WebServer};

struct Inner {
    config: WorkerConfig,
    runtime: Mutex<Option<Runtime>>,
    handle: Handle,
    bridge: Arc<EventBridge>,
    steps: Steps,
    handlers: RwLock<HashSet<String>>,
    pid: u32,
    forked: AtomicBool,
    running_tasks: std::sync::atomic::AtomicUsize,
    stopped: AtomicBool,
    web: Mutex<Option<WebServer>>,
    readiness: Readiness,
    /// `true` asks every `serve` of this worker to stop claiming and drain.
    serve_stop: tokio::sync::watch::Sender<bool>,
    /// How many `serve` loops are running, so `stop` can wait for them to drain.
    serving: std::sync::atomic::AtomicUsize,
}

/// A running worker. Cheap to clone; every clone is the same worker.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("worker_id", &self.inner.config.worker_id)
            .field("bridge", &self.inner.bridge)
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

impl Worker {
    /// Starts a worker on a multi-thread Tokio runtime it creates and owns, and runs
    /// phase-2 telemetry inside that runtime. This is what FFI hosts need.
    pub fn start(config: WorkerConfig) -> TaskerResult<Self> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("tasker-worker")
            .enable_all()
            .build()
            .map_err(|e| TaskerError::Internal(format!("cannot create the Tokio runtime: {e}")))?;
        let handle = runtime.handle().clone();
        runtime.block_on(async { start_telemetry(&config) });
        Self::assemble(config, handle, Some(runtime))
    }

    /// Starts a worker on a runtime the caller owns (a Rust program's own). Telemetry phase 2
    /// runs with that runtime current. Works from inside or outside the runtime.
    pub fn start_on(handle: Handle, config: WorkerConfig) -> TaskerResult<Self> {
        config.validate()?;
        {
            let _enter = handle.enter();
            start_telemetry(&config);
        }
        Self::assemble(config, handle, None)
    }

    fn assemble(
        config: WorkerConfig,
        handle: Handle,
        runtime: Option<Runtime>,
    ) -> TaskerResult<Self> {
        let bridge = Arc::new(EventBridge::new(config.dispatch_buffer));
        let processor = Arc::new(CommandProcessor::new(
            bridge.clone(),
            config.language.clone(),
            config.worker_id.clone(),
            config.handler_timeout,
        ));
        let steps = Steps::new(processor, config.dispatch_buffer);
        let readiness = Readiness::default();
        let web = match config.web_bind_address {
            Some(addr) => Some(WebServer::start(
                &handle,
                addr,
                config.worker_id.clone(),
                readiness.clone(),
            )?),
            None => None,
        };
        tracing::info!(
            worker_id = %config.worker_id,
            language = %config.language,
            concurrency = config.concurrency,
            "Worker started"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                runtime: Mutex::new(runtime),
                handle,
                bridge,
                steps,
                handlers: RwLock::new(HashSet::new()),
                running_tasks: 0.into(),
                pid: std::process::id(),
                forked: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                web: Mutex::new(web),
                readiness,
                serve_stop: tokio::sync::watch::Sender::new(false),
                serving: 0.into(),
            }),
        })
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.inner.config
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.config.worker_id
    }

    /// The bridge host handlers take events from and complete them through.
    pub fn bridge(&self) -> &Arc<EventBridge> {
        &self.inner.bridge
    }

    /// The runtime the worker runs on.
    pub fn runtime_handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// Where `/health` and `/metrics` are served, if they are.
    pub fn web_address(&self) -> Option<SocketAddr> {
        self.inner
            .web
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|w| w.addr)
    }

    /// Adds a check to `/health/ready` (replacing one of the same name): while it answers
    /// `Err(reason)`, the endpoint says 503 `not_ready` with the reason under `checks.<name>`.
    /// `serve` adds `database`. The check must answer from state, without I/O.
    pub fn add_readiness_check(&self, name: impl Into<String>, check: ReadinessCheck) {
        self.inner.readiness.add(name.into(), check);
    }

    /// What every step of this worker goes through (for `serve`).
    pub(crate) fn steps(&self) -> &Steps {
        &self.inner.steps
    }

    /// The flag that asks `serve` to stop, and the count of running `serve` loops.
    pub(crate) fn serve_control(
        &self,
    ) -> (
        &tokio::sync::watch::Sender<bool>,
        &std::sync::atomic::AtomicUsize,
    ) {
        (&self.inner.serve_stop, &self.inner.serving)
    }

    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    /// Declares that a host handler called `name` exists. Templates naming any other handler
    /// are refused with [`TaskerError::UnknownHandler`] before anything runs.
    pub fn register_handler(&self, name: impl Into<String>) -> TaskerResult<()> {
        self.ensure_running()?;
        self.inner
            .handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into());
        Ok(())
    }

    pub(crate) fn ensure_running(&self) -> TaskerResult<()> {
        if self.inner.forked.load(Ordering::Acquire) {
            return Err(TaskerError::Forked {
                parent_pid: self.inner.pid,
            });
        }
        if self.is_stopped() {
            Err(TaskerError::Stopped)
        } else {
            Ok(())
        }
    }

    fn check(&self, template: &TaskTemplate, context: &Value) -> TaskerResult<()> {
        self.ensure_running()?;
        template.validate()?;
        tasker_shared::workflow::check_context(context)?;
        let namespaces = &self.inner.config.namespaces;
        if !namespaces.is_empty() && !namespaces.contains(&template.namespace) {
            return Err(TaskerError::Config(format!(
                "worker {} does not serve namespace {:?} (it serves {namespaces:?})",
                self.worker_id(),
                template.namespace
            )));
        }
        let known = self
            .inner
            .handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match template.steps.iter().find(|s| !known.contains(&s.handler)) {
            Some(step) => Err(TaskerError::UnknownHandler(step.handler.clone())),
            None => Ok(()),
        }
    }

    /// Runs a task to its end from async code.
    pub async fn run_task_async(
        &self,
        template: TaskTemplate,
        context: Value,
    ) -> TaskerResult<TaskResult> {
        self.checked_task(template, context)?.1.await
    }

    /// Checks a task and returns its uuid and the future that runs it to its end, counted as
    /// running (for `stop`'s drain) from now until the future is done or dropped. Every way
    /// of running a task starts here.
    fn checked_task(
        &self,
        template: TaskTemplate,
        context: Value,
    ) -> TaskerResult<(
        uuid::Uuid,
        impl std::future::Future<Output = TaskerResult<TaskResult>> + Send + 'static,
    )> {
        self.check(&template, &context)?;
        let task_uuid = tasker_shared::ids::new_uuid();
        let running = Running::new(self.inner.clone());
        let steps = self.inner.steps.clone();
        let drive = async move {
            let _running = running;
            let correlation_id = tasker_shared::ids::new_uuid();
            driver::drive(steps, template, context, task_uuid, correlation_id).await
        };
        Ok((task_uuid, drive))
    }

    /// Runs one ready step through this worker's command processor and host handlers
    /// (execution span parented by the step's traceparent, completion span, metrics) and
    /// returns its result: for drivers whose task state lives elsewhere (the PostgreSQL
    /// queues), which record the result themselves.
    pub async fn execute_step(&self, ready: ReadyStep) -> TaskerResult<StepExecutionResult> {
        self.ensure_running()?;
        Ok(self.inner.steps.process(ready).await)
    }

    /// Starts a task that the calling thread drives while it waits ([`TaskRun::wait`]).
    /// This is how blocking hosts run tasks: the driver runs on the waiting thread itself,
    /// so a step costs two thread wake-ups (to the handler's thread and back) instead of
    /// four. Dropping the run before it finishes cancels the task: its queued steps are
    /// withdrawn and completions of its running ones refused.
    pub fn start_task(&self, template: TaskTemplate, context: Value) -> TaskerResult<TaskRun> {
        let (task_uuid, drive) = self.checked_task(template, context)?;
        Ok(TaskRun::new(
            task_uuid,
            self.inner.handle.clone(),
            self.inner.bridge.clone(),
            Box::pin(drive),
        ))
    }

    /// Runs a task to its end, blocking the calling thread, which drives the task itself
    /// ([`Worker::start_task`]). From a runtime thread, where blocking on the runtime is not
    /// allowed, the task runs on the runtime instead and this thread waits for it.
    pub fn run_task(
        &self,
        template: TaskTemplate,
        context: Value,
        timeout: Option<Duration>,
    ) -> TaskerResult<TaskResult> {
        if Handle::try_current().is_ok() {
            return self.run_on_runtime(template, context, timeout);
        }
        self.start_task(template, context)?.finish(&Plain, timeout)
    }

    /// `run_task` from a runtime thread: the task runs on the runtime, and this thread waits
    /// for its result on a channel.
    fn run_on_runtime(
        &self,
        template: TaskTemplate,
        context: Value,
        timeout: Option<Duration>,
    ) -> TaskerResult<TaskResult> {
        let (task_uuid, drive) = self.checked_task(template, context)?;
        let (tx, rx) = std::sync::mpsc::channel();
        self.inner.handle.spawn(async move {
            let _ = tx.send(drive.await);
        });
        match timeout {
            Some(t) => rx.recv_timeout(t).map_err(|e| match e {
                std::sync::mpsc::RecvTimeoutError::Timeout => {
                    crate::blocking::task_timeout(task_uuid, t)
                }
                std::sync::mpsc::RecvTimeoutError::Disconnected => TaskerError::Stopped,
            })?,
            None => rx.recv().map_err(|_| TaskerError::Stopped)?,
        }
    }

    /// For a forked child: this worker's runtime threads exist only in the parent, so it is
    /// abandoned without being dropped (dropping would wait on those threads), and every
    /// later call fails with [`TaskerError::Forked`].
    pub fn abandon_after_fork(&self) {
        self.inner.forked.store(true, Ordering::Release);
        self.inner.stopped.store(true, Ordering::Release);
        if let Some(rt) = self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            std::mem::forget(rt);
        }
        if let Some(web) = self
            .inner
            .web
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            std::mem::forget(web);
        }
    }

    /// The error [`stop`](Self::stop) would refuse with here, if any: a forked child, or a
    /// handler thread. Hosts that change their own state before stopping ask this first.
    pub fn check_stop(&self) -> TaskerResult<()> {
        if self.inner.forked.load(Ordering::Acquire) {
            return Err(TaskerError::Forked {
                parent_pid: self.inner.pid,
            });
        }
        if crate::blocking::on_handler_thread() {
            return Err(TaskerError::StopInHandler);
        }
        Ok(())
    }

    /// Graceful stop: takes no new steps, waits up to `drain_timeout` for running tasks and
    /// in-flight steps, fails what is left as `worker_stopped`, stops HTTP, and flushes
    /// telemetry. A worker that owns its runtime also shuts telemetry and the runtime down.
    /// Idempotent; every other call afterwards fails with [`TaskerError::Stopped`].
    ///
    /// Telemetry that could not be exported does not fail the stop: the report says what was
    /// lost and why (logged once as a WARN), and `report.into_result()` makes it an error
    /// for a caller who wants that. The only errors are a caller's: a stop in a forked child,
    /// or from a handler thread ([`TaskerError::StopInHandler`]), which would wait for itself.
    pub fn stop(&self) -> TaskerResult<logging::TelemetryReport> {
        self.check_stop()?;
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return Ok(logging::TelemetryReport {
                stats: logging::telemetry_stats(),
                error: None,
            });
        }
        tracing::info!(worker_id = %self.worker_id(), "Worker stopping");
        // Serving loops stop claiming first; the steps they hold drain with the rest.
        self.inner.serve_stop.send_replace(true);
        if let Some(web) = self
            .inner
            .web
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            web.ready.store(false, Ordering::Release);
        }
        let deadline = Instant::now() + self.inner.config.drain_timeout;
        while (self.inner.running_tasks.load(Ordering::Acquire) > 0
            || self.inner.serving.load(Ordering::Acquire) > 0
            || self.inner.bridge.in_flight() > 0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let abandoned = self.inner.bridge.in_flight();
        self.inner.steps.permits.close();
        self.inner.bridge.close();
        if let Some(mut web) = self
            .inner
            .web
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            web.stop();
        }
        let runtime = self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let telemetry = if runtime.is_some() {
            logging::shutdown_report()
        } else {
            logging::flush_report()
        };
        if let Some(rt) = runtime {
            if Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
        tracing::info!(worker_id = %self.worker_id(), abandoned_steps = abandoned, "Worker stopped");
        Ok(telemetry)
    }
}

/// Counts a task as running from its start until it is dropped, so `stop` can drain it.
struct Running(Arc<Inner>);

impl Running {
    fn new(inner: Arc<Inner>) -> Self {
        inner.running_tasks.fetch_add(1, Ordering::AcqRel);
        Self(inner)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running_tasks.fetch_sub(1, Ordering::AcqRel);
    }
}

fn start_telemetry(config: &WorkerConfig) {
    logging::init_console_only();
    let telemetry = config
        .telemetry
        .clone()
        .unwrap_or_else(logging::TelemetryConfig::from_env);
    if let Err(e) = logging::init_with_config(telemetry) {
        tracing::error!(error = %e, "OpenTelemetry export could not start; continuing with console logging");
    }
}
