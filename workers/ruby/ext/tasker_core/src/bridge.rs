//! Host threads take step events and return completions. `wait_event` blocks with the GVL
//! released, so N Ruby threads wait at once and run N handlers concurrently; no sleeping
//! poll loop.

use std::time::Duration;

use magnus::prelude::*;
use magnus::{Error, RClass, RHash, RModule, Ruby, Value, function, method};
use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use uuid::Uuid;

use crate::bootstrap::{RbWorker, SLICE};
use crate::{conversions, errors, gvl};

pub(crate) fn define(class: RClass) -> Result<(), Error> {
    class.define_method("wait_event", method!(RbWorker::wait_event, 1))?;
    class.define_method("poll_event", method!(RbWorker::poll_event, 0))?;
    class.define_method("complete", method!(RbWorker::complete, 2))?;
    class.define_method("in_flight", method!(RbWorker::in_flight, 0))?;
    Ok(())
}

/// `TaskerCore::Native.ffi_floor`, beside the worker's own calls into Ruby.
pub(crate) fn define_floor(native: RModule) -> Result<(), Error> {
    native.define_module_function("ffi_floor", function!(ffi_floor, 1))
}

/// `ffi_floor(n) { }`: yields to the block `n` times from Rust, with nothing else around
/// the call. The floor under every call the worker makes into Ruby (a step's handler is
/// one); `make bench` times it. Without a block, Ruby's `LocalJumpError`.
fn ffi_floor(ruby: &Ruby, n: u64) -> Result<(), Error> {
    gvl::guard(ruby, || {
        for _ in 0..n {
            let _: Value = ruby.yield_value(())?;
        }
        Ok(())
    })
}

/// A step event as the Hash (Symbol keys) host threads and `run_task`'s block receive.
pub(crate) fn event_to_ruby(ruby: &Ruby, event: &StepExecutionEvent) -> Result<Value, Error> {
    let json = serde_json::to_value(event).map_err(|e| errors::internal(ruby, &e.to_string()))?;
    conversions::to_ruby_symbol_keys(ruby, &json)
}

impl RbWorker {
    /// The next step event as a Hash (Symbol keys), or nil after `timeout` seconds. Raises
    /// `TaskerCore::WorkerStoppedError` once the worker stops, which ends the host loop.
    fn wait_event(ruby: &Ruby, rb_self: &Self, timeout: f64) -> Result<Option<Value>, Error> {
        gvl::guard(ruby, || {
            let total = Duration::try_from_secs_f64(timeout).unwrap_or(SLICE);
            let deadline = std::time::Instant::now() + total;
            loop {
                let slice =
                    SLICE.min(deadline.saturating_duration_since(std::time::Instant::now()));
                let got = gvl::without_gvl(ruby, || rb_self.0.bridge().wait(slice))?
                    .map_err(|e| errors::to_ruby(ruby, e))?;
                if let Some(event) = got {
                    return event_to_ruby(ruby, &event).map(Some);
                }
                if std::time::Instant::now() >= deadline {
                    return Ok(None);
                }
                ruby.thread_check_ints()?;
            }
        })
    }

    /// The next step event if one is queued; never blocks.
    fn poll_event(ruby: &Ruby, rb_self: &Self) -> Result<Option<Value>, Error> {
        gvl::guard(ruby, || {
            match rb_self
                .0
                .bridge()
                .poll()
                .map_err(|e| errors::to_ruby(ruby, e))?
            {
                Some(event) => event_to_ruby(ruby, &event).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Delivers a completion Hash (event_id, task_uuid, step_uuid, success, result,
    /// metadata, error_message, trace_id, span_id) for `event_id`.
    fn complete(
        ruby: &Ruby,
        rb_self: &Self,
        event_id: String,
        completion: RHash,
    ) -> Result<(), Error> {
        gvl::guard(ruby, || {
            let id = Uuid::parse_str(&event_id).map_err(|_| {
                errors::conversion(ruby, &format!("event_id {event_id:?} is not a UUID"))
            })?;
            let json = conversions::to_json(ruby, completion.as_value(), "completion")?;
            let completion: StepExecutionCompletionEvent = serde_json::from_value(json)
                .map_err(|e| errors::conversion(ruby, &format!("completion is malformed: {e}")))?;
            rb_self
                .0
                .bridge()
                .complete(id, completion)
                .map_err(|e| errors::to_ruby(ruby, e))
        })
    }

    fn in_flight(&self) -> usize {
        self.0.bridge().in_flight()
    }
}
