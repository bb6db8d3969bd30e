//! The blocking-host protocol: how a host whose threads block in Rust (Ruby's GVL,
//! Python's GIL, a plain Rust thread) waits for the core, written once for every binding.
//!
//! A host supplies three things ([`BlockingHost`]): run a closure with its global lock
//! released, check for interrupts (Ctrl-C, `Thread#raise`, signal handlers), and convert a
//! core error into its own. The core owns the loops: every blocking wait (a task's result,
//! the next step event, a served queue, a submitted task in PostgreSQL) runs in short
//! slices with the lock released, and the host checks for interrupts between slices. A
//! binding therefore never writes a wait loop, a deadline or a timeout rule of its own.
//!
//! Why slices and not one long release: neither Ruby nor Python can interrupt a thread that
//! is blocked in foreign code, so a wait that never returned to the host would make Ctrl-C
//! and `Thread#raise` wait for it. A slice is [`SLICE`] long, far below what a person
//! notices and far above what the wake-ups cost.
//!
//! Hosts do not run handlers on the waiting thread: a handler cannot be pre-empted, and one
//! that never returns must not keep its caller from the result (see `TaskRun`).

use std::cell::Cell;
use std::time::{Duration, Instant};

use tasker_shared::TaskerError;
use tasker_shared::types::StepExecutionEvent;

use crate::bridge::EventBridge;

/// How long one wait with the host's lock released lasts before the host checks for
/// interrupts.
pub const SLICE: Duration = Duration::from_millis(100);

/// What a blocking host supplies.
pub trait BlockingHost {
    /// The host's error (a Ruby exception, a Python exception, [`TaskerError`]).
    type Error;

    /// Runs `f` with the host's global lock released. `f` touches no host object.
    fn without_lock<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, Self::Error>;

    /// Runs pending interrupts and signal handlers; an `Err` ends the wait.
    fn check_interrupts(&self) -> Result<(), Self::Error>;

    /// Converts a core error, once, at the host's edge.
    fn error(&self, e: TaskerError) -> Self::Error;
}

/// A Rust thread: no lock to release, no interrupts to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl BlockingHost for Plain {
    type Error = TaskerError;

    fn without_lock<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, TaskerError> {
        Ok(f())
    }

    fn check_interrupts(&self) -> Result<(), TaskerError> {
        Ok(())
    }

    fn error(&self, e: TaskerError) -> TaskerError {
        e
    }
}

/// Calls `wait(slice)` with the lock released until it yields a value, checking interrupts
/// between slices. `Ok(None)` once `limit` has passed (`None`: wait as long as it takes).
pub fn in_slices<H: BlockingHost, T: Send>(
    host: &H,
    limit: Option<Duration>,
    mut wait: impl FnMut(Duration) -> Result<Option<T>, TaskerError> + Send,
) -> Result<Option<T>, H::Error> {
    let deadline = limit.map(|l| Instant::now() + l);
    loop {
        let slice = deadline.map_or(SLICE, |d| {
            SLICE.min(d.saturating_duration_since(Instant::now()))
        });
        if let Some(v) = host
            .without_lock(|| wait(slice))?
            .map_err(|e| host.error(e))?
        {
            return Ok(Some(v));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        host.check_interrupts()?;
    }
}

thread_local! {
    /// Set while this thread holds a step event it took and has not completed: what runs on
    /// it now is a handler.
    static HOLDING_EVENT: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is running a handler: it took a step event ([`next_event`]) and has
/// neither completed it nor come back for the next. Such a thread must not wait for the
/// handlers to drain ([`Worker::stop`](crate::Worker::stop) refuses it with
/// [`TaskerError::StopInHandler`]).
pub fn on_handler_thread() -> bool {
    HOLDING_EVENT.get()
}

/// This thread completed the event it held ([`EventBridge::complete`]).
pub(crate) fn released_event() {
    HOLDING_EVENT.set(false);
}

/// The next step event for a host thread, or `None` after `timeout`. Once the worker stops,
/// the host's conversion of [`TaskerError::Stopped`], which ends its handler loop. Until the
/// thread completes the event or asks for the next, it counts as running a handler
/// ([`on_handler_thread`]).
pub fn next_event<H: BlockingHost>(
    host: &H,
    bridge: &EventBridge,
    timeout: Duration,
) -> Result<Option<StepExecutionEvent>, H::Error> {
    released_event();
    let event = in_slices(host, Some(timeout), |slice| bridge.wait(slice))?;
    HOLDING_EVENT.set(event.is_some());
    Ok(event)
}

/// A [`TaskerError::TaskTimeout`] for a wait of `limit` on `task_uuid`.
pub fn task_timeout(task_uuid: uuid::Uuid, limit: Duration) -> TaskerError {
    TaskerError::TaskTimeout {
        task_uuid,
        millis: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
    }
}
