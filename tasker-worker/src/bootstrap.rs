//! The process-wide worker that FFI hosts bootstrap.
//!
//! A host process has one worker: `bootstrap_worker` creates it (runtime, phase-2
//! telemetry, bridge) the first time and returns the same running worker on every later
//! call. After it is stopped, the next call starts a fresh one.

use std::sync::{Mutex, PoisonError};

use tasker_shared::TaskerResult;

use crate::config::WorkerConfig;
use crate::worker::Worker;

static GLOBAL: Mutex<Option<Worker>> = Mutex::new(None);

/// Returns the running process worker, starting it with `config` if there is none.
/// A second call's `config` is ignored (logged at debug), and the running worker returned.
pub fn bootstrap_worker(config: WorkerConfig) -> TaskerResult<Worker> {
    let mut slot = GLOBAL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(worker) = slot.as_ref().filter(|w| !w.is_stopped()) {
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
