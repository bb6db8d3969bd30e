//! The process-wide worker that FFI hosts bootstrap.
//!
//! A host process has one worker: `bootstrap_worker` creates it (runtime, phase-2
//! telemetry, bridge) the first time and returns the same running worker on every later
//! call with the same configuration. A call asking for a different one is refused with a
//! [`TaskerError::Config`] naming each difference: silently returning a worker with other
//! settings than the caller asked for hides bugs. After `stop`, the next call starts a
//! fresh worker.

use std::sync::{Mutex, PoisonError};

use tasker_shared::{TaskerError, TaskerResult};

use crate::config::WorkerConfig;
use crate::worker::Worker;

static GLOBAL: Mutex<Option<Worker>> = Mutex::new(None);

/// Returns the running process worker, starting it with `config` if there is none. A
/// running worker is returned only if `config` asks for nothing different (the worker id
/// aside, which is random by default); otherwise [`TaskerError::Config`] says what differs.
pub fn bootstrap_worker(config: WorkerConfig) -> TaskerResult<Worker> {
    bootstrap_compared(config, false)
}

/// [`bootstrap_worker`], comparing the worker id too when `explicit_worker_id`.
pub(crate) fn bootstrap_compared(
    config: WorkerConfig,
    explicit_worker_id: bool,
) -> TaskerResult<Worker> {
    let mut slot = GLOBAL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(worker) = slot.as_ref().filter(|w| !w.is_stopped()) {
        let differences = worker.config().differences(&config, explicit_worker_id);
        if !differences.is_empty() {
            return Err(TaskerError::Config(format!(
                "a worker is already running ({}) with a different configuration ({}); stop it first, or bootstrap with the same options",
                worker.worker_id(),
                differences.join("; ")
            )));
        }
        tracing::debug!(worker_id = %worker.worker_id(), "bootstrap_worker: returning the running worker");
        return Ok(worker.clone());
    }
    let worker = Worker::start(config)?;
    *slot = Some(worker.clone());
    Ok(worker)
}

/// The running process worker, if one was bootstrapped and not stopped.
pub fn current_worker() -> Option<Worker> {
    GLOBAL
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .filter(|w| !w.is_stopped())
}

/// In a forked child: abandons the parent's process worker (its runtime threads are not in
/// this process), so the next `bootstrap_worker` starts a fresh one.
pub fn abandon_after_fork() {
    if let Some(worker) = GLOBAL.lock().unwrap_or_else(PoisonError::into_inner).take() {
        worker.abandon_after_fork();
    }
}
