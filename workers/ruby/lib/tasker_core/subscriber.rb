# frozen_string_literal: true

module TaskerCore
  # Runs the handler for one event and sends the completion back, trace ids included.
  # Nothing is lost: an exception, a timeout or a result JSON cannot hold each becomes a
  # failed step with its reason.
  class Subscriber
    # The core's error_type vocabulary (docs/architecture.md), never spelled here.
    ERROR_TYPES = Native::ERROR_TYPES
    # @param native [Native::Worker]
    # @param handlers [HandlerRegistry]
    def initialize(native, handlers)
      @native = native
      @handlers = handlers
    end

    # @param event_data [Hash] a wrapped event ({EventBridge.wrap_step_execution_event})
    # @return [void]
    def handle(event_data)
      context = EventBridge.step_context(event_data)
      step = event_data[:task_sequence_step]["workflow_step"]
      outcome = run_handler(step["handler"], context, timeout_for(event_data))
      publish_outcome(event_data, outcome)
    end

    # TAS-65 Phase 1.5b: the completion carries the trace context back to Rust.
    # @return [void]
    def publish_step_completion(event_data:, success:, result: nil, error_message: nil, metadata: nil)
      completion_payload = {
        event_id: event_data[:event_id],
        task_uuid: event_data[:task_uuid],
        step_uuid: event_data[:step_uuid],
        success: success,
        result: result,
        metadata: metadata,
        error_message: error_message
      }
      completion_payload[:trace_id] = event_data[:trace_id] if event_data[:trace_id]
      completion_payload[:span_id] = event_data[:span_id] if event_data[:span_id]
      @native.complete(event_data[:event_id], completion_payload)
    end

    # @param event_data [Hash] a wrapped event
    # @return [Float] seconds the step's handler may run, as the core decided it (the step's
    #   timeout_ms, else the worker's handler timeout)
    def timeout_for(event_data)
      event_data[:timeout_ms] / 1000.0
    end

    private

    def run_handler(name, context, timeout)
      handler = @handlers.resolve(name)
      unless handler
        return StepHandler::Result.new(success: false, error_message: "no Ruby handler registered as #{name.inspect}",
                                       error_type: ERROR_TYPES[:unknown_handler], retryable: false)
      end

      Thread.current[:tasker_core_step] = { trace_id: context.trace_id, span_id: context.span_id,
                                            step_name: context.step_name }
      value = Deadline.guard(timeout) { handler.call(context) }
      value.is_a?(StepHandler::Result) ? value : StepHandler::Result.new(success: true, result: value, metadata: {})
    rescue Timeout::Error
      StepHandler::Result.new(success: false, error_message: "handler timed out after #{timeout} s",
                              error_type: ERROR_TYPES[:timeout], retryable: true)
    rescue StandardError, ScriptError => e
      retryable = e.respond_to?(:retryable) ? (e.retryable ? true : false) : true
      StepHandler::Result.new(success: false, error_message: e.message, error_type: e.class.name,
                              retryable: retryable)
    rescue Exception => e # rubocop:disable Lint/RescueException
      # Interrupt, SignalException, SystemExit and the like, raised by a handler on a handler
      # thread (real signals go to the main thread, which never runs handlers): letting them
      # through would only end this thread and shrink the pool, and Thread#join would re-raise
      # them later, far from their cause. The step fails with the reason and is not retried.
      StepHandler::Result.new(success: false, error_type: e.class.name, retryable: false,
                              error_message: "handler raised #{e.class}: #{e.message}; a handler cannot exit or " \
                                             "interrupt the worker, so the step failed")
    ensure
      Thread.current[:tasker_core_step] = nil
    end

    def publish_outcome(event_data, outcome)
      if outcome.success
        publish_step_completion(event_data: event_data, success: true, result: outcome.result,
                                metadata: outcome.metadata || {})
      else
        publish_step_completion(event_data: event_data, success: false, error_message: outcome.error_message,
                                metadata: (outcome.metadata || {}).merge(error_type: outcome.error_type,
                                                                          retryable: outcome.retryable))
      end
    rescue ConversionError => e
      # The result (or metadata) is not JSON: the step fails with that reason.
      publish_step_completion(event_data: event_data, success: false, error_message: e.message,
                              metadata: { error_type: ERROR_TYPES[:invalid_result], retryable: false })
    rescue CompletionError => e
      # The worker already gave up on this step (it timed out); nothing is waiting for it.
      Tracing.debug("late completion dropped", reason: e.message)
    end
  end
end
