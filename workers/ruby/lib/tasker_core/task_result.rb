# frozen_string_literal: true

module TaskerCore
  # The result of {Worker#run_task}.
  #
  # @!attribute status [String] "complete" when every step completed, else "error"
  # @!attribute task_uuid [String]
  # @!attribute correlation_id [String]
  # @!attribute trace_id [String] the task's one trace
  # @!attribute step_results [Hash{String=>Object}] results of completed steps
  # @!attribute steps [Hash{String=>Hash}] every step's record: "status", "attempts",
  #   "result", "error", "error_type", "execution_time_ms"
  TaskResult = Struct.new(:status, :task_uuid, :correlation_id, :trace_id, :step_results, :steps,
                          keyword_init: true) do
    # @return [Boolean]
    def complete?
      status == "complete"
    end

    # @return [Boolean]
    def error?
      status == "error"
    end

    # @api private
    def self.from_native(h)
      new(status: h[:status], task_uuid: h[:task_uuid], correlation_id: h[:correlation_id],
          trace_id: h[:trace_id], step_results: h[:step_results], steps: h[:steps])
    end
  end
end
