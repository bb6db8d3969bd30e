# frozen_string_literal: true

module TaskerCore
  # Shapes the step events the Rust worker sends. The trace context rides along as opaque
  # strings, exposed at the top level like correlation_id (TAS-65 Phase 1.5b).
  module EventBridge
    module_function

    # @param event_data [Hash{Symbol=>Object}] a StepExecutionEvent from the native worker
    # @return [Hash{Symbol=>Object}]
    def wrap_step_execution_event(event_data)
      wrapped = {
        event_id: event_data[:event_id],
        task_uuid: event_data[:task_uuid],
        step_uuid: event_data[:step_uuid],
        task_sequence_step: event_data[:task_sequence_step],
        # The handler's time: the step's timeout_ms, else the worker's (the core decides).
        timeout_ms: event_data[:timeout_ms]
      }
      wrapped[:correlation_id] = event_data[:correlation_id] if event_data[:correlation_id]
      wrapped[:parent_correlation_id] = event_data[:parent_correlation_id] if event_data[:parent_correlation_id]
      # TAS-65 Phase 1.5b: expose trace_id and span_id for distributed tracing
      wrapped[:trace_id] = event_data[:trace_id] if event_data[:trace_id]
      wrapped[:span_id] = event_data[:span_id] if event_data[:span_id]
      wrapped[:traceparent] = event_data[:traceparent] if event_data[:traceparent]
      wrapped
    end

    # The handler's view of a wrapped event.
    # @return [StepContext]
    def step_context(wrapped)
      seq = wrapped[:task_sequence_step]
      task = seq["task"]
      step = seq["workflow_step"]
      StepContext.new(
        task_uuid: wrapped[:task_uuid], step_uuid: wrapped[:step_uuid],
        step_name: step["name"], namespace: task["namespace_name"], task_name: task["task_name"],
        correlation_id: wrapped[:correlation_id], trace_id: wrapped[:trace_id],
        span_id: wrapped[:span_id], traceparent: wrapped[:traceparent],
        input: task["context"], dependency_results: seq["dependency_results"] || {},
        attempt: step["attempt"]
      )
    end
  end
end
