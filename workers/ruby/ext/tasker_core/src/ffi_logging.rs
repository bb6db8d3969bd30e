//! Phase 1 at `require`, and Ruby's logging through the Rust pipeline.

use magnus::prelude::*;
use magnus::{Error, RHash, RModule, Ruby, Value, function};
use tasker_shared::logging::{self, host};

use crate::{conversions, errors, gvl};

/// Phase 1: console logging from the instant the extension loads, with no runtime. With
/// TELEMETRY_ENABLED=true it logs that export is deferred to the runtime context.
pub(crate) fn init_ffi_logger() {
    logging::init_ffi_console("ruby", None);
}

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("log", function!(log, 3))?;
    native.define_singleton_method("telemetry_state", function!(telemetry_state, 0))?;
    native.define_singleton_method("flush_telemetry", function!(flush_telemetry, 1))?;
    native.define_singleton_method("shutdown_telemetry", function!(shutdown_telemetry, 1))?;
    native.define_singleton_method("after_fork_in_child", function!(after_fork_in_child, 0))?;
    native.define_singleton_method("raise_rust_panic", function!(raise_rust_panic, 1))?;
    let _ = ruby;
    Ok(())
}

/// `TaskerCore::Native.log(level, message, fields)`: one event through the Rust pipeline.
fn log(ruby: &Ruby, level: String, message: String, fields: RHash) -> Result<(), Error> {
    gvl::guard(ruby, || {
        let json = conversions::to_json(ruby, fields.as_value(), "fields")?;
        let level = host::parse_level(&level).ok_or_else(|| {
            Error::new(
                ruby.exception_arg_error(),
                format!("unknown log level {level:?} (use trace, debug, info, warn or error)"),
            )
        })?;
        host::host_log(host::Host::Ruby, level, &message, &json);
        Ok(())
    })
}

fn telemetry_state() -> &'static str {
    logging::telemetry_state().as_str()
}

fn flush_telemetry(ruby: &Ruby, strict: bool) -> Result<Value, Error> {
    gvl::guard(ruby, || {
        report_to_ruby(ruby, gvl::without_gvl(ruby, logging::flush_report)?, strict)
    })
}

fn shutdown_telemetry(ruby: &Ruby, strict: bool) -> Result<Value, Error> {
    gvl::guard(ruby, || {
        report_to_ruby(
            ruby,
            gvl::without_gvl(ruby, logging::shutdown_report)?,
            strict,
        )
    })
}

/// A telemetry report as a Hash of its fields (Symbol keys), or the loss raised when
/// `strict`.
pub(crate) fn report_to_ruby(
    ruby: &Ruby,
    report: logging::TelemetryReport,
    strict: bool,
) -> Result<Value, Error> {
    use tasker_shared::host::report::{Case, outcome};
    let fields =
        outcome(report, strict, Case::Snake).map_err(|e| errors::to_ruby(ruby, e.into()))?;
    conversions::to_ruby_symbol_keys(ruby, &fields)
}

/// In a forked child: abandon the parent's worker and exporter threads (they do not exist
/// here) and attach fresh telemetry.
fn after_fork_in_child(ruby: &Ruby) -> Result<(), Error> {
    gvl::guard(ruby, || {
        tasker_worker::abandon_after_fork();
        logging::reinitialize_after_fork().map_err(|e| errors::to_ruby(ruby, e.into()))
    })
}

/// Panics inside the extension, on purpose: lets an application (and our tests) verify that a
/// Rust panic reaches Ruby as `TaskerCore::InternalError` and the process lives on.
fn raise_rust_panic(ruby: &Ruby, message: String) -> Result<(), Error> {
    gvl::guard(ruby, || -> Result<(), Error> {
        std::panic::panic_any(message)
    })
}
