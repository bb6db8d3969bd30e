//! What every host shares, in one place, so that the Ruby, Python and JS bindings stop
//! re-deriving it: the error kinds and each host's name for them ([`errors`]), the one
//! `error_type` vocabulary of failed steps ([`error_types`]), and the rules for what a host
//! hands in (a template, a timeout, a completion: [`input`]), and what a stop reports
//! ([`report`]).
//!
//! **Why here.** Each rule used to live in each binding, and they drifted: an unknown
//! handler's `error_type` was spelled four ways, a task timeout was `TimeoutError` in Ruby
//! and `TaskTimeoutError` in Python. This module is host-agnostic and has no Tokio, so the
//! wasm build shares it with the native ones; a binding converts values and looks names up
//! here, nothing more.

pub use crate::error_types;
pub mod errors;
pub mod input;
pub mod options;
pub mod report;

pub use errors::ErrorKind;
pub use input::{TemplateInput, parse_completion, step_timeout, template, timeout_seconds};
