//! Host threads take step events and return completions. `wait_event` blocks with the GVL
//! released (the core's slice loop), so N Ruby threads wait at once and run N handlers
//! concurrently; no sleeping poll loop.

use std::time::Duration;

use magnus::prelude::*;
use magnus::{Error, RClass, RHash, RModule, Ruby, Value, function, method};
use tasker_shared::types::StepExecutionEvent;
use tasker_worker::blocking;

use crate::bootstrap::RbWorker;
use crate::gvl::RubyHost;
use crate::{conversions, errors, gvl};

pub(crate) fn define(class: RClass) -> Result<(), Error> {
    class.define_method("wait_event", method!(wait_event, 1))?;
    class.define_method("poll_event", method!(poll_event, 0))?;
    class.define_method("complete", method!(complete, 2))?;
    class.define_method("in_flight", method!(in_flight, 0))?;
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

/// A step event as the Hash (Symbol keys) host threads receive.
fn event_to_ruby(ruby: &Ruby, event: &StepExecutionEvent) -> Result<Value, Error> {
    crate::bootstrap::to_ruby_hash(ruby, event)
}

/// The next step event as a Hash (Symbol keys), or nil after `timeout` seconds. Raises
/// `TaskerCore::WorkerStoppedError` once the worker stops, which ends the host loop.
fn wait_event(ruby: &Ruby, rb_self: &RbWorker, timeout: f64) -> Result<Option<Value>, Error> {
    gvl::guard(ruby, || {
        let total = Duration::try_from_secs_f64(timeout).unwrap_or(blocking::SLICE);
        blocking::next_event(&RubyHost(ruby), rb_self.0.bridge(), total)?
            .map(|event| event_to_ruby(ruby, &event))
            .transpose()
    })
}

/// The next step event if one is queued; never blocks.
fn poll_event(ruby: &Ruby, rb_self: &RbWorker) -> Result<Option<Value>, Error> {
    gvl::guard(ruby, || {
        rb_self
            .0
            .bridge()
            .poll()
            .map_err(|e| errors::to_ruby(ruby, e))?
            .map(|event| event_to_ruby(ruby, &event))
            .transpose()
    })
}

/// Delivers a completion Hash (event_id, task_uuid, step_uuid, success, result,
/// metadata, error_message, trace_id, span_id) for `event_id`.
fn complete(
    ruby: &Ruby,
    rb_self: &RbWorker,
    event_id: String,
    completion: RHash,
) -> Result<(), Error> {
    gvl::guard(ruby, || {
        let json = conversions::to_json(ruby, completion.as_value(), "completion")?;
        let (id, completion) = tasker_shared::host::parse_completion(&event_id, json)
            .map_err(|e| errors::to_ruby(ruby, e))?;
        rb_self
            .0
            .bridge()
            .complete(id, completion)
            .map_err(|e| errors::to_ruby(ruby, e))
    })
}

fn in_flight(rb_self: &RbWorker) -> usize {
    rb_self.0.bridge().in_flight()
}
