//! A task driven by the thread that waits for it.
//!
//! Blocking hosts (Ruby, Python, a plain Rust `main`) wait for `run_task` anyway, so the
//! waiting thread is put to work: it polls the task's driver itself, through
//! `Handle::block_on`, in slices. A step then crosses threads twice (to the handler's thread
//! and back) rather than four times (to a runtime thread, to the handler, back to the
//! runtime, back to the waiter), and each crossing is a futex wake-up that costs more than
//! a no-op step's own work.
//!
//! Slices let hosts check for interrupts (Ctrl-C, `Thread#raise`) between them; the task
//! only pauses while its waiter is away. A waiter that leaves for good drops the run, and
//! the task moves to the runtime to finish there, so no step is lost half way.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tasker_shared::{TaskerError, TaskerResult};
use tokio::runtime::Handle;
use uuid::Uuid;

use crate::bridge::EventBridge;
use crate::driver::TaskResult;

type Drive = Pin<Box<dyn Future<Output = TaskerResult<TaskResult>> + Send>>;

/// A started task; call [`TaskRun::wait`] until it returns the result.
pub struct TaskRun {
    task_uuid: Uuid,
    handle: Handle,
    bridge: Arc<EventBridge>,
    drive: Option<Drive>,
}

impl std::fmt::Debug for TaskRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRun")
            .field("task_uuid", &self.task_uuid)
            .field("finished", &self.drive.is_none())
            .finish()
    }
}

impl TaskRun {
    pub(crate) fn new(
        task_uuid: Uuid,
        handle: Handle,
        bridge: Arc<EventBridge>,
        drive: Drive,
    ) -> Self {
        Self {
            task_uuid,
            handle,
            bridge,
            drive: Some(drive),
        }
    }

    pub fn task_uuid(&self) -> Uuid {
        self.task_uuid
    }

    /// Drives the task for up to `slice`: `Ok(Some(result))` when it finished, `Ok(None)`
    /// when the slice ran out first. Blocks; call it with the host's global lock released
    /// and never from a runtime thread (Tokio refuses to block there, with a panic).
    /// After the result has been returned, further calls fail with `Internal`.
    pub fn wait(&mut self, slice: Duration) -> TaskerResult<Option<TaskResult>> {
        let Some(drive) = self.drive.as_mut() else {
            return Err(TaskerError::Internal(format!(
                "task {} has already been collected",
                self.task_uuid
            )));
        };
        // The timer is made inside `block_on`, where the runtime is current. If `stop` shuts
        // the runtime down while this thread is in the slice, Tokio's timer panics; that is
        // the worker stopping, reported as such, never an unwind into the host.
        let handle = &self.handle;
        let waited = std::panic::catch_unwind(AssertUnwindSafe(|| {
            handle.block_on(async { tokio::time::timeout(slice, drive.as_mut()).await })
        }));
        match waited {
            Ok(Err(_elapsed)) => Ok(None),
            Ok(Ok(result)) => {
                self.drive = None;
                result.map(Some)
            }
            Err(panic) => {
                self.drive = None;
                if self.bridge.is_closed() {
                    Err(TaskerError::Stopped)
                } else {
                    Err(TaskerError::Internal(format!(
                        "task {} failed while being driven: {}",
                        self.task_uuid,
                        tasker_shared::panic_message(&*panic)
                    )))
                }
            }
        }
    }
}

impl Drop for TaskRun {
    fn drop(&mut self) {
        if let Some(drive) = self.drive.take() {
            // The waiter gave up (an interrupt, a host timeout): the task finishes on the
            // runtime, and its steps are recorded as they end.
            drop(self.handle.spawn(drive));
        }
    }
}
