//! The messages of one step's round trip: Rust → host handler → Rust.
//!
//! They serialize with serde to the JSON shapes the hosts see. The trace fields are optional
//! and skipped when absent, so events from older hosts (or hosts that drop them) still
//! deserialize, and the worker falls back to an unlinked completion span.

mod events;
mod result;
mod step;

pub use events::{StepExecutionCompletionEvent, StepExecutionEvent};
pub use result::{StepExecutionMetadata, StepExecutionResult};
pub use step::{StepMessage, TaskInfo, TaskSequenceStep, WorkflowStepInfo};
