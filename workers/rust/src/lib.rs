//! Native Rust step handlers for tasker-core.
//!
//! ```no_run
//! use serde_json::json;
//! use tasker_worker_rust::{HandlerRegistry, RustWorker, StepError, templates};
//! use tasker_worker::WorkerConfig;
//!
//! let mut handlers = HandlerRegistry::new();
//! handlers.register_fn("square", |ctx| async move {
//!     let n = ctx.input["even_number"].as_i64().ok_or_else(|| StepError::permanent("no input"))?;
//!     Ok(json!(n * n))
//! });
//! let worker = RustWorker::start(WorkerConfig::default(), handlers)?;
//! let result = worker.run_task(templates::linear()?, json!({"even_number": 2}), None)?;
//! worker.stop()?;
//! # Ok::<(), tasker_shared::TaskerError>(())
//! ```

mod handler;
pub mod handlers;
mod host;
pub mod templates;

pub use handler::{FnHandler, HandlerRegistry, StepContext, StepError, StepHandler};
pub use host::RustWorker;

/// docs/rust.md, whose Rust rustdoc compiles and runs as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/rust.md")]
pub struct RustGuide;
