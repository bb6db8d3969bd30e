//! The one `error_type` vocabulary of a failed step, in every language.
//!
//! A step that fails for a reason of the worker's own carries one of these. A step whose
//! handler raised carries the exception's class name instead (`ArgumentError`,
//! `ValueError`, `TypeError`), or whatever `error_type` the handler gave its failure.
//! docs/architecture.md lists them; hosts read them from their native module
//! (`TaskerCore::Native::ERROR_TYPES`, `tasker_core._tasker_core.ERROR_TYPES`), never spell
//! them themselves.

/// The handler ran past its step's `timeout_ms` (else the worker's handler timeout).
pub const TIMEOUT: &str = "timeout";
/// The step names a handler this process has not registered.
pub const UNKNOWN_HANDLER: &str = "unknown_handler";
/// The handler returned a value JSON cannot hold (NaN, an object of no JSON type, a cycle).
pub const INVALID_RESULT: &str = "invalid_result";
/// The handler reported failure without naming a type.
pub const HANDLER_ERROR: &str = "handler_error";
/// A worker took the step and was lost before recording it (its message was redelivered).
pub const WORKER_LOST: &str = "worker_lost";
/// The worker stopped before the step completed.
pub const WORKER_STOPPED: &str = "worker_stopped";
/// A bug in tasker-core while processing the step.
pub const INTERNAL_ERROR: &str = "internal_error";

/// Every entry, with the constant's name hosts see, for the native modules and the docs.
pub const ALL: &[(&str, &str)] = &[
    ("TIMEOUT", TIMEOUT),
    ("UNKNOWN_HANDLER", UNKNOWN_HANDLER),
    ("INVALID_RESULT", INVALID_RESULT),
    ("HANDLER_ERROR", HANDLER_ERROR),
    ("WORKER_LOST", WORKER_LOST),
    ("WORKER_STOPPED", WORKER_STOPPED),
    ("INTERNAL_ERROR", INTERNAL_ERROR),
];
