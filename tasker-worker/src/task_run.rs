//! A task driven by the thread that waits for it.
//!
//! Blocking hosts (Ruby, Python, a plain Rust `main`) wait for `run_task` anyway, so the
//! waiting thread is put to work: it polls the task's driver itself, through
//! `Handle::block_on`, in slices. A step then crosses threads twice (to the handler's thread
//! and back) rather than four times (to a runtime thread, to the handler, back to the
//! runtime, back to the waiter), and each crossing is a futex wake-up that costs more than
//! a no-op step's own work.
//!
//! With [`TaskRun::wait_or_take`] the waiting thread also runs the handler of a step its
//! driver dispatches while the worker has nothing else in flight. Such a step crosses no
//! thread at all: the driver leaves it on the same thread, which runs the handler with the
//! host's lock held, completes it, and drives on. Every other step goes to the host threads,
//! so parallel steps still run in parallel and, under load, the waiter does not compete with
//! them for the GVL/GIL.
//!
//! Slices let hosts check for interrupts (Ctrl-C, `Thread#raise`) between them; the task
//! only pauses while its waiter is away. A waiter that leaves for good (an interrupt, its
//! own timeout) drops the run, and the task is cancelled with it: nobody would read its
//! result, and a worker's `stop` must not wait for steps whose caller is gone.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tasker_shared::types::StepExecutionEvent;
use tasker_shared::{TaskerError, TaskerResult};
use tokio::runtime::Handle;
use uuid::Uuid;

use crate::blocking::{self, BlockingHost, Plain};
use crate::bridge::EventBridge;
use crate::driver::TaskResult;
use crate::handoff::Offering;

type Drive = Pin<Box<dyn Future<Output = TaskerResult<TaskResult>> + Send>>;

/// How one call to [`TaskRun::wait_or_take`] ended.
#[derive(Debug)]
pub enum Waited {
    /// The task finished.
    Finished(TaskResult),
    /// A step of this task for the caller to run and complete.
    Event(Box<StepExecutionEvent>),
    /// The slice ran out first.
    Elapsed,
}

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
        match self.wait_slice(slice, false)? {
            Waited::Finished(result) => Ok(Some(result)),
            Waited::Event(_) | Waited::Elapsed => Ok(None),
        }
    }

    /// Like [`wait`](Self::wait), and returns as soon as the driver hands this thread a step
    /// (one it dispatches while the worker has nothing else in flight), taken: the caller
    /// runs its handler and completes it (its deadline runs from now, as for any host
    /// thread), then calls again. Every other step goes to the host threads.
    pub fn wait_or_take(&mut self, slice: Duration) -> TaskerResult<Waited> {
        self.wait_slice(slice, true)
    }

    /// Drives the task to its end with `host`'s lock released, in slices with interrupts
    /// checked between them, or until `timeout` passes ([`TaskerError::TaskTimeout`]). This
    /// is `run_task` for every blocking host; an interrupt leaves with the run dropped, which
    /// cancels the task.
    pub fn finish<H: BlockingHost>(
        &mut self,
        host: &H,
        timeout: Option<Duration>,
    ) -> Result<TaskResult, H::Error> {
        let task_uuid = self.task_uuid;
        match blocking::in_slices(host, timeout, |slice| self.wait(slice))? {
            Some(result) => Ok(result),
            None => Err(host.error(blocking::task_timeout(
                task_uuid,
                timeout.unwrap_or_default(),
            ))),
        }
    }

    /// Drives the task to its end, or until `timeout` passes ([`TaskerError::TaskTimeout`]),
    /// handing every event it takes to `serve`, which must complete it on the bridge (or let
    /// its deadline fail it). For callers that need nothing between slices (a Rust `main`).
    pub fn run_serving(
        &mut self,
        timeout: Option<Duration>,
        mut serve: impl FnMut(StepExecutionEvent) + Send,
    ) -> TaskerResult<TaskResult> {
        let task_uuid = self.task_uuid;
        blocking::in_slices(&Plain, timeout, |slice| {
            Ok(match self.wait_or_take(slice)? {
                Waited::Finished(result) => Some(result),
                Waited::Event(event) => {
                    serve(*event);
                    None
                }
                Waited::Elapsed => None,
            })
        })?
        .ok_or_else(|| blocking::task_timeout(task_uuid, timeout.unwrap_or_default()))
    }

    pub fn wait_slice(&mut self, slice: Duration, take_steps: bool) -> TaskerResult<Waited> {
        let Some(drive) = self.drive.as_mut() else {
            return Err(TaskerError::Internal(format!(
                "task {} has already been collected",
                self.task_uuid
            )));
        };
        // The timer is made inside `block_on`, where the runtime is current. If `stop` shuts
        // the runtime down while this thread is in the slice, Tokio's timer panics; that is
        // the worker stopping, reported as such, never an unwind into the host.
        let (handle, bridge) = (&self.handle, &*self.bridge);
        let handed = take_steps.then(|| Offering::here(bridge.key()));
        let waited = std::panic::catch_unwind(AssertUnwindSafe(|| {
            handle.block_on(async {
                let step = std::future::poll_fn(|cx| {
                    if let Poll::Ready(result) = drive.as_mut().poll(cx) {
                        return Poll::Ready(Ok(result));
                    }
                    // What this poll of the driver handed over, on this thread.
                    if let Some(event) = handed.as_ref().and_then(Offering::take) {
                        if let Some(event) = bridge.taken(event) {
                            return Poll::Ready(Err(Box::new(event)));
                        }
                    }
                    Poll::Pending
                });
                tokio::time::timeout(slice, step).await
            })
        }));
        if let Some(event) = handed.and_then(Offering::end) {
            bridge.requeue(event);
        }
        match waited {
            Ok(Err(_elapsed)) => Ok(Waited::Elapsed),
            Ok(Ok(Err(event))) => Ok(Waited::Event(event)),
            Ok(Ok(Ok(result))) => {
                self.drive = None;
                result.map(Waited::Finished)
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
            // The waiter gave up (an interrupt, its own timeout): nobody will read the
            // result, so the task ends with it. Its queued steps are withdrawn and the
            // completions of running ones refused, so `stop` does not wait for a task whose
            // caller is gone (a Ctrl-C'd caller's exit would otherwise take the drain time).
            drop(drive);
            let cancelled = self.bridge.cancel_task(self.task_uuid);
            tracing::info!(
                task_uuid = %self.task_uuid,
                cancelled_steps = cancelled,
                "task.cancelled: its caller stopped waiting"
            );
        }
    }
}
