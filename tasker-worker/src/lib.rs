//! The native tasker-core worker runtime.
//!
//! A [`Worker`] owns (or borrows) a multi-thread Tokio runtime and runs tasks with the
//! `tasker_shared::workflow` machine, driven by the thread that waits for the task
//! ([`TaskRun`]). Each ready step goes, within a worker-wide bound, to the command processor, which opens `worker.step_execution` and hands a
//! `StepExecutionEvent` with the span's real trace ids to a host handler over the
//! [`EventBridge`]. The host's completion comes back through the same bridge; the event
//! subscriber records `worker.step_completion_received` as a child of the returned context
//! with a Link to the execution span, and the result drives the task on. One task is one
//! trace, rooted at `worker.task_execution`.
//!
//! Hosts (the Ruby and Python bindings, the native Rust worker) only take events from the
//! bridge and complete them; everything else lives here.

pub mod blocking;
mod bootstrap;
pub mod bridge;
mod client;
mod config;
mod driver;
mod handoff;
mod host_options;
mod metrics;
mod processor;
mod serving;
mod subscriber;
mod task_run;
mod web;
mod worker;

pub use blocking::BlockingHost;
pub use bootstrap::{abandon_after_fork, bootstrap_worker, current_worker};
pub use bridge::{BridgeOutcome, EventBridge};
pub use client::Client;
pub use config::WorkerConfig;
pub use driver::TaskResult;
pub use host_options::{
    bootstrap_from_options, telemetry_from_options, worker_config_from_options,
};
pub use processor::CommandProcessor;
pub use task_run::{TaskRun, Waited};
pub use web::ReadinessCheck;
pub use worker::Worker;

pub use tasker_pgmq::{ServeReport, database_url};
pub use tasker_shared::{TaskerError, TaskerResult, trace_context};
