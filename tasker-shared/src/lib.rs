//! Host-agnostic core of tasker-core.
//!
//! Everything here compiles for native targets and for `wasm32-unknown-unknown`, and none of
//! it needs a Tokio runtime: the Ruby, Python and JS bindings load it before any runtime
//! exists, and the native runtime (`tasker-worker`) and the JS event loop both drive the
//! same [`workflow`] machine.
//!
//! * [`driver`]: the task driver every runtime shares (Tokio, the JS event loop).
//! * [`host`]: what every host binding shares (error kinds, `error_type`s, input rules).
//! * [`logging`]: two-phase telemetry (console at load, OTLP export after bootstrap).
//! * [`otlp`]: OTLP trace requests (protobuf and JSON) written from the SDK's spans.
//! * [`trace_context`]: W3C trace context and the ids that cross the FFI boundary.
//! * [`types`]: the messages and events of one step's round trip.
//! * [`workflow`]: the sans-IO task state machine.

pub mod driver;
pub mod error_types;
pub mod errors;
pub mod host;
pub mod ids;
pub mod logging;
pub mod otlp;
pub mod step_spans;
pub mod time;
pub mod trace_context;
pub mod types;
pub mod workflow;

pub use errors::{TaskerError, TaskerResult, panic_message};

#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
