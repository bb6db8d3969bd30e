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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use tasker_shared::{TaskerError, TaskerResult};
use tokio::sync::oneshot;
use uuid::Uuid;

struct InFlight {
    taken: Option<oneshot::Sender<Instant>>,
    done: oneshot::Sender<StepExecutionCompletionEvent>,
}

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

/// The dispatch channel and its in-flight registry.
pub struct EventBridge {
    tx: Mutex<Option<flume::Sender<StepExecutionEvent>>>,
    rx: flume::Receiver<StepExecutionEvent>,
    inflight: Mutex<HashMap<Uuid, InFlight>>,
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
    taken: oneshot::Receiver<Instant>,
    done: oneshot::Receiver<StepExecutionCompletionEvent>,
}

impl Pending {
    /// Waits for the host to take the event, then up to `timeout` for its completion.
    pub async fn outcome(
        self,
        bridge: &EventBridge,
        event_id: Uuid,
        timeout: Duration,
    ) -> BridgeOutcome {
        let Ok(taken_at) = self.taken.await else {
            return BridgeOutcome::Stopped;
        };
        match tokio::time::timeout(timeout, self.done).await {
            Ok(Ok(completion)) => BridgeOutcome::Completed {
                completion,
                elapsed: taken_at.elapsed(),
            },
            Ok(Err(_)) => BridgeOutcome::Stopped,
            Err(_) => {
                // A completion that arrives from now on is refused as unknown.
                bridge.lock().remove(&event_id);
                BridgeOutcome::TimedOut {
                    after: taken_at.elapsed(),
                }
            }
        }
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
            self.bridge.lock().remove(&id);
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
            inflight: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, InFlight>> {
        self.inflight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event` for a host, waiting while the channel is full (backpressure).
    pub async fn dispatch(&self, event: StepExecutionEvent) -> TaskerResult<Pending> {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(TaskerError::Stopped)?;
        let (taken_tx, taken) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let event_id = event.event_id;
        if self.lock().contains_key(&event_id) {
            return Err(TaskerError::Internal(format!(
                "event {event_id} is already in flight"
            )));
        }
        self.lock().insert(
            event_id,
            InFlight {
                taken: Some(taken_tx),
                done: done_tx,
            },
        );
        let mut guard = Unqueued {
            bridge: self,
            event_id: Some(event_id),
        };
        tx.send_async(event)
            .await
            .map_err(|_| TaskerError::Stopped)?;
        guard.event_id = None;
        Ok(Pending { taken, done })
    }

    fn taken(&self, event: StepExecutionEvent) -> StepExecutionEvent {
        if let Some(entry) = self.lock().get_mut(&event.event_id) {
            if let Some(t) = entry.taken.take() {
                let _ = t.send(Instant::now());
            }
        }
        event
    }

    /// Takes the next event if one is queued; never blocks.
    pub fn poll(&self) -> TaskerResult<Option<StepExecutionEvent>> {
        match self.rx.try_recv() {
            Ok(e) => Ok(Some(self.taken(e))),
            Err(flume::TryRecvError::Empty) if !self.is_closed() => Ok(None),
            Err(_) => Err(TaskerError::Stopped),
        }
    }

    /// Blocks up to `timeout` for the next event. Call it with the host's global lock
    /// released. `Ok(None)` means the timeout passed; `Err(Stopped)` that the bridge closed.
    pub fn wait(&self, timeout: Duration) -> TaskerResult<Option<StepExecutionEvent>> {
        match self.rx.recv_timeout(timeout) {
            Ok(e) => Ok(Some(self.taken(e))),
            Err(flume::RecvTimeoutError::Timeout) if !self.is_closed() => Ok(None),
            Err(_) => Err(TaskerError::Stopped),
        }
    }

    /// Waits for the next event from async code (the native Rust host).
    pub async fn recv(&self) -> TaskerResult<StepExecutionEvent> {
        self.rx
            .recv_async()
            .await
            .map(|e| self.taken(e))
            .map_err(|_| TaskerError::Stopped)
    }

    /// Delivers a host's completion for `event_id`.
    pub fn complete(
        &self,
        event_id: Uuid,
        completion: StepExecutionCompletionEvent,
    ) -> TaskerResult<()> {
        if completion.event_id != event_id {
            return Err(TaskerError::InvalidCompletion(format!(
                "completion is for event {}, not {event_id}",
                completion.event_id
            )));
        }
        let entry = self.lock().remove(&event_id).ok_or_else(|| {
            TaskerError::InvalidCompletion(format!(
                "no step is in flight for event {event_id}: it is unknown, already completed, or timed out"
            ))
        })?;
        entry
            .done
            .send(completion)
            .map_err(|_| TaskerError::Stopped)
    }

    /// Events dispatched and not yet completed (queued or running).
    pub fn in_flight(&self) -> usize {
        self.lock().len()
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
        // Dropping the senders ends every Pending as Stopped.
        self.lock().clear();
        while self.rx.try_recv().is_ok() {}
    }
}
