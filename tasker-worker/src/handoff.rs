//! The same-thread hand-off from a task's driver to the thread that drives it.
//!
//! A host thread blocked in [`TaskRun::wait_or_take`](crate::TaskRun::wait_or_take) drives
//! its task inside `block_on`, so the driver's `dispatch` runs on that very thread. Putting
//! the event on the shared channel there would wake a handler thread (a futex wake-up and,
//! in Ruby or Python, a GVL/GIL hand-off) while the driving thread sits idle. Instead the
//! event is left in this thread's one-event slot, and the waiter returns it at once.
//!
//! Only a step dispatched while the worker has nothing else in flight is handed over (the
//! bridge decides), and the slot holds one: a task's parallel steps still run on the handler
//! threads in parallel, and under load the waiter leaves handlers to them instead of
//! competing for the GVL/GIL.

use std::cell::RefCell;

use tasker_shared::types::StepExecutionEvent;

/// Which bridge a waiter serves, by the bridge's address (a handler may run another
/// worker's task). The bridge passes its own; this module knows nothing else of it.
pub(crate) type BridgeKey = usize;

struct Taker {
    bridge: BridgeKey,
    slot: Option<StepExecutionEvent>,
}

thread_local! {
    static TAKER: RefCell<Option<Taker>> = const { RefCell::new(None) };
}

/// Marks this thread as waiting to take `bridge`'s events until [`Offering::end`].
pub(crate) struct Offering {
    previous: Option<Taker>,
}

impl Offering {
    pub(crate) fn here(bridge: BridgeKey) -> Self {
        let previous = TAKER.with(|t| t.borrow_mut().replace(Taker { bridge, slot: None }));
        Self { previous }
    }

    /// The event handed over on this thread, if any.
    pub(crate) fn take(&self) -> Option<StepExecutionEvent> {
        TAKER.with(|t| t.borrow_mut().as_mut().and_then(|t| t.slot.take()))
    }

    /// Stops offering; returns an event left in the slot (only a panic while driving leaves
    /// one), which the caller puts back on the channel.
    pub(crate) fn end(mut self) -> Option<StepExecutionEvent> {
        let mine = TAKER.with(|t| std::mem::replace(&mut *t.borrow_mut(), self.previous.take()));
        std::mem::forget(self);
        mine.and_then(|t| t.slot)
    }
}

impl Drop for Offering {
    fn drop(&mut self) {
        TAKER.with(|t| *t.borrow_mut() = self.previous.take());
    }
}

/// Leaves `event` for a waiter on this thread that serves `bridge` and holds nothing yet;
/// gives it back when there is none.
pub(crate) fn hand_over(
    bridge: BridgeKey,
    event: StepExecutionEvent,
) -> Option<StepExecutionEvent> {
    TAKER.with(|t| match t.borrow_mut().as_mut() {
        Some(taker) if taker.bridge == bridge && taker.slot.is_none() => {
            taker.slot = Some(event);
            None
        }
        _ => Some(event),
    })
}
