//! The event subscriber: turns what came back across the bridge into a step result. The
//! completion span itself is `tasker_shared::step_spans`, shared with the wasm worker.

use std::time::Duration;

use tasker_shared::step_spans;
use tasker_shared::trace_context::TraceIds;
use tasker_shared::types::{StepExecutionEvent, StepExecutionResult};

use crate::bridge::BridgeOutcome;

/// Builds the step result for one bridge outcome, recording the completion span and events.
pub(crate) fn handle_outcome(
    outcome: BridgeOutcome,
    event: &StepExecutionEvent,
    exec: Option<&TraceIds>,
    language: &str,
    worker_id: &str,
) -> StepExecutionResult {
    let result = match outcome {
        BridgeOutcome::Completed {
            completion,
            elapsed,
        } => step_spans::record_completion(completion, exec, language, millis(elapsed)),
        BridgeOutcome::TimedOut { after } => step_spans::timed_out(event.step_uuid, millis(after)),
        BridgeOutcome::Stopped => step_spans::abandoned(event.step_uuid),
    };
    result
        .with_worker_id(worker_id)
        .with_execution_traceparent(exec.map(|i| i.traceparent.clone()))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
