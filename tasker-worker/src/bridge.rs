//! The event bridge: a bounded dispatch channel between the worker and host handlers.
//!
//! Host threads take events with [`EventBridge::wait`], a blocking call made to be run with
//! the GVL/GIL released, or [`EventBridge::poll`], which never blocks; the native Rust host
//! uses [`EventBridge::recv`]. Many host threads may wait at once: the channel is MPMC, so
//! handlers run concurrently and no host sleeps in a polling loop.
//!
//! Every dispatched event is registered as in flight until its completion arrives through
//! [`EventBridge::complete`]. The handler timeout starts when a host *takes* the event, not
//! when it is queued, so a long queue never times steps out before they run.
//!
//! A thread that drives its task and offers to run handlers (`TaskRun::wait_or_take`) gets
//! an event its own driver dispatches while nothing else is in flight straight from the
//! driver, on the same thread (`handoff`), without the channel.
//!
//! Taking an event wakes nobody: it only files the step's deadline. One watchdog task per
//! bridge sleeps until the earliest deadline and fails whatever is still running then. A
//! step therefore costs one wake-up of its driver (when it completes), not two, and there
//! is no timer per step.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use tasker_shared::{TaskerError, TaskerResult};
use tokio::sync::{Notify, oneshot};
use uuid::Uuid;

/// How a dispatched step ended, from the worker's side.
#[derive(Debug)]
pub enum BridgeOutcome {
    /// The host completed it; `elapsed` runs from when the host took the event.
    Completed {
        completion: StepExecutionCompletionEvent,
        elapsed: Duration,
    },
    /// The host took it but did not complete it within the timeout.
    TimedOut { after: Duration },
    /// The bridge closed before the step completed.
    Stopped,
}

struct InFlight {
    task_uuid: Uuid,
    timeout: Duration,
    taken_at: Option<Instant>,
    done: oneshot::Sender<BridgeOutcome>,
}

#[derive(Default)]
struct State {
    inflight: HashMap<Uuid, InFlight>,
    /// `(taken_at + timeout, event_id)` of every taken, unfinished step.
    deadlines: BTreeSet<(Instant, Uuid)>,
    closed: bool,
}

impl State {
    fn finish(&mut self, event_id: &Uuid) -> Option<InFlight> {
        let entry = self.inflight.remove(event_id)?;
        if let Some(t) = entry.taken_at {
            self.deadlines.remove(&(t + entry.timeout, *event_id));
        }
        Some(entry)
    }

    /// Times out every step whose deadline has passed; returns the next deadline.
    fn expire(&mut self, now: Instant) -> Option<Instant> {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                return Some(deadline);
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.inflight.remove(&id) {
                let after = entry.taken_at.map_or(entry.timeout, |t| now - t);
                // A completion that arrives from now on is refused as unknown.
                let _ = entry.done.send(BridgeOutcome::TimedOut { after });
            }
        }
        None
    }
}

/// The in-flight registry, shared with the deadline watchdog.
#[derive(Default)]
struct Registry {
    state: Mutex<State>,
    /// Wakes the watchdog when an earlier deadline is filed, or the bridge closes.
    wake: Notify,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sleeps until the earliest deadline, fails what is still running then, and repeats;
/// ends when the bridge closes or is dropped.
async fn watchdog(registry: Weak<Registry>) {
    loop {
        let Some(reg) = registry.upgrade() else {
            return;
        };
        let next = {
            let mut state = reg.lock();
            if state.closed {
                return;
            }
            state.expire(Instant::now())
        };
        let woken = reg.wake.notified();
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = woken => {}
                }
            }
            None => woken.await,
        }
    }
}

/// The dispatch channel and its in-flight registry.
pub struct EventBridge {
    tx: Mutex<Option<flume::Sender<StepExecutionEvent>>>,
    rx: flume::Receiver<StepExecutionEvent>,
    registry: Arc<Registry>,
    watchdog_started: AtomicBool,
    closed: AtomicBool,
    capacity: usize,
}

impl std::fmt::Debug for EventBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridge")
            .field("capacity", &self.capacity)
            .field("queued", &self.rx.len())
            .field("in_flight", &self.in_flight())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A dispatched event waiting for its outcome.
#[derive(Debug)]
pub struct Pending {
    done: oneshot::Receiver<BridgeOutcome>,
}

impl Pending {
    /// Waits for the step's end: completed, timed out (`timeout` after a host took it), or
    /// stopped.
    pub async fn outcome(self) -> BridgeOutcome {
        self.done.await.unwrap_or(BridgeOutcome::Stopped)
    }
}

/// Removes a registration if its dispatch is cancelled before the event was queued.
struct Unqueued<'a> {
    bridge: &'a EventBridge,
    event_id: Option<Uuid>,
}

impl Drop for Unqueued<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.event_id {
            self.bridge.registry.lock().finish(&id);
        }
    }
}

impl EventBridge {
    /// A bridge whose channel holds at most `capacity` queued events.
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = flume::bounded(capacity.max(1));
        Self {
            tx: Mutex::new(Some(tx)),
            rx,
            registry: Arc::default(),
            watchdog_started: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            capacity: capacity.max(1),
        }
    }

    /// Queues `event` for a host, waiting while the channel is full (backpressure). Once a
    /// host takes it, the host has `timeout` to complete it. Call it inside a Tokio runtime:
    /// the first dispatch starts the bridge's deadline watchdog there.
    pub async fn dispatch(
        &self,
        event: StepExecutionEvent,
        timeout: Duration,
    ) -> TaskerResult<Pending> {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(TaskerError::Stopped)?;
        if !self.watchdog_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(watchdog(Arc::downgrade(&self.registry)));
        }
        let (done_tx, done) = oneshot::channel();
        let event_id = event.event_id;
        let idle = {
            let mut state = self.registry.lock();
            let idle = state.inflight.is_empty();
            if state.inflight.contains_key(&event_id) {
                return Err(TaskerError::Internal(format!(
                    "event {event_id} is already in flight"
                )));
            }
            state.inflight.insert(
                event_id,
                InFlight {
                    task_uuid: event.task_uuid,
                    timeout,
                    taken_at: None,
                    done: done_tx,
                },
            );
            idle
        };
        // Only a step that finds the worker idle goes to the waiting thread: under load the
        // host threads serve, and the waiter does not compete with them for the GVL/GIL.
        let event = if idle {
            match crate::handoff::hand_over(self.key(), event) {
                Some(event) => event,
                None => return Ok(Pending { done }),
            }
        } else {
            event
        };
        let mut guard = Unqueued {
            bridge: self,
            event_id: Some(event_id),
        };
        tx.send_async(event)
            .await
            .map_err(|_| TaskerError::Stopped)?;
        guard.event_id = None;
        Ok(Pending { done })
    }

    /// This bridge's identity for the same-thread hand-off.
    pub(crate) fn key(&self) -> crate::handoff::BridgeKey {
        std::ptr::from_ref(self) as usize
    }

    /// Puts back an event that was handed over on a thread and never taken there; if the
    /// channel cannot take it, the step ends as stopped (and is retried).
    pub(crate) fn requeue(&self, event: StepExecutionEvent) {
        let event_id = event.event_id;
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if tx.is_some_and(|tx| tx.try_send(event).is_ok()) {
            return;
        }
        if let Some(entry) = self.registry.lock().finish(&event_id) {
            let _ = entry.done.send(BridgeOutcome::Stopped);
        }
    }

    /// Starts the taken step's clock and files its deadline; wakes the watchdog only when
    /// this deadline is the earliest. `None` for an event whose task was cancelled while it
    /// was queued: nobody waits for it, so no host should run it.
    pub(crate) fn taken(&self, event: StepExecutionEvent) -> Option<StepExecutionEvent> {
        let earliest = {
            let mut state = self.registry.lock();
            let now = Instant::now();
            match state.inflight.get_mut(&event.event_id) {
                Some(entry) if entry.taken_at.is_none() => {
                    entry.taken_at = Some(now);
                    let deadline = (now + entry.timeout, event.event_id);
                    state.deadlines.insert(deadline);
                    state.deadlines.first() == Some(&deadline)
                }
                Some(_) => false,
                None => return None,
            }
        };
        if earliest {
            self.registry.wake.notify_one();
        }
        Some(event)
    }

    /// Takes the next event if one is queued; never blocks.
    pub fn poll(&self) -> TaskerResult<Option<StepExecutionEvent>> {
        loop {
            match self.rx.try_recv() {
                Ok(e) => match self.taken(e) {
                    Some(e) => return Ok(Some(e)),
                    None => continue,
                },
                Err(flume::TryRecvError::Empty) if !self.is_closed() => return Ok(None),
                Err(_) => return Err(TaskerError::Stopped),
            }
        }
    }

    /// Blocks up to `timeout` for the next event. Call it with the host's global lock
    /// released. `Ok(None)` means the timeout passed; `Err(Stopped)` that the bridge closed.
    pub fn wait(&self, timeout: Duration) -> TaskerResult<Option<StepExecutionEvent>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.rx.recv_deadline(deadline) {
                Ok(e) => match self.taken(e) {
                    Some(e) => return Ok(Some(e)),
                    None => continue,
                },
                Err(flume::RecvTimeoutError::Timeout) if !self.is_closed() => return Ok(None),
                Err(_) => return Err(TaskerError::Stopped),
            }
        }
    }

    /// Waits for the next event from async code (the native Rust host).
    pub async fn recv(&self) -> TaskerResult<StepExecutionEvent> {
        loop {
            let e = self
                .rx
                .recv_async()
                .await
                .map_err(|_| TaskerError::Stopped)?;
            if let Some(e) = self.taken(e) {
                return Ok(e);
            }
        }
    }

    /// Cancels every step of `task_uuid` that is still in flight, for a task nobody waits
    /// for any more (its caller was interrupted or gave up): queued events are skipped by
    /// the hosts, and completions of running ones are refused like late ones. Returns how
    /// many steps were cancelled. `stop` no longer waits for them.
    pub fn cancel_task(&self, task_uuid: Uuid) -> usize {
        let mut state = self.registry.lock();
        let ids: Vec<Uuid> = state
            .inflight
            .iter()
            .filter(|(_, e)| e.task_uuid == task_uuid)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            state.finish(id);
        }
        ids.len()
    }

    /// Delivers a host's completion for `event_id`.
    pub fn complete(
        &self,
        event_id: Uuid,
        completion: StepExecutionCompletionEvent,
    ) -> TaskerResult<()> {
        crate::blocking::released_event();
        if completion.event_id != event_id {
            return Err(TaskerError::InvalidCompletion(format!(
                "completion is for event {}, not {event_id}",
                completion.event_id
            )));
        }
        let entry = self.registry.lock().finish(&event_id).ok_or_else(|| {
            TaskerError::InvalidCompletion(format!(
                "no step is in flight for event {event_id}: it is unknown, already completed, or timed out"
            ))
        })?;
        let elapsed = entry.taken_at.map_or(Duration::ZERO, |t| t.elapsed());
        entry
            .done
            .send(BridgeOutcome::Completed {
                completion,
                elapsed,
            })
            .map_err(|_| TaskerError::Stopped)
    }

    /// Events dispatched and not yet completed (queued or running).
    pub fn in_flight(&self) -> usize {
        self.registry.lock().inflight.len()
    }

    /// Events waiting in the channel for a host.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    /// The channel's bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the channel: no new dispatches, waiting hosts return `Stopped`, and every step
    /// still in flight ends as [`BridgeOutcome::Stopped`]. Idempotent.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        {
            // Dropping the senders ends every Pending as Stopped.
            let mut state = self.registry.lock();
            state.closed = true;
            state.inflight.clear();
            state.deadlines.clear();
        }
        self.registry.wake.notify_one();
        while self.rx.try_recv().is_ok() {}
    }
}

impl Drop for EventBridge {
    fn drop(&mut self) {
        self.close();
    }
}
