//! `Init_tasker_core`: the Ruby extension. It only converts and delegates to
//! `tasker-worker`; the public Ruby API lives in `lib/tasker_core/*.rb`.
//!
//! Phase 1 of telemetry runs here, at `require`, so console logging works before anything
//! else; phase 2 runs in `bootstrap.rs` inside the worker's runtime.

mod bootstrap;
mod bridge;
mod client;
mod conversions;
mod errors;
mod ffi_logging;
mod gvl;

use magnus::prelude::*;
use magnus::{Error, Ruby};

#[magnus::init(name = "tasker_core")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    ffi_logging::init_ffi_logger();
    let native = ruby.define_module("TaskerCore")?.define_module("Native")?;
    errors::define(ruby, native)?;
    ffi_logging::define(ruby, native)?;
    let worker = bootstrap::define(ruby, native)?;
    bridge::define(worker)?;
    bridge::define_floor(native)?;
    client::define(ruby, native)?;
    Ok(())
}
