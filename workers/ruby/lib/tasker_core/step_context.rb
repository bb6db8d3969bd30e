# frozen_string_literal: true

module TaskerCore
  # What a handler gets for one step. Members read as methods or with +[]+.
  #
  # @!attribute task_uuid [String]
  # @!attribute step_uuid [String]
  # @!attribute step_name [String]
  # @!attribute namespace [String]
  # @!attribute correlation_id [String]
  # @!attribute trace_id [String, nil] 32 hex: the step's trace
  # @!attribute span_id [String, nil] 16 hex: the worker's execution span for this step
  # @!attribute traceparent [String, nil] W3C traceparent of that span
  # @!attribute input [Hash{String=>Object}] the task's context (String keys, as from JSON)
  # @!attribute dependency_results [Hash{String=>Object}] results of the steps this one depends on
  # @!attribute attempt [Integer] 1 for the first try
  # @!attribute task_name [String]
  StepContext = Struct.new(
    :task_uuid, :step_uuid, :step_name, :namespace, :correlation_id,
    :trace_id, :span_id, :traceparent, :input, :dependency_results, :attempt, :task_name,
    keyword_init: true
  )
end
