# frozen_string_literal: true

module TaskerCore
  # What {Worker#stop} and {TaskerCore.flush_telemetry} did with the spans.
  #
  # Telemetry never fails a stop: spans a collector did not take are counted here, their
  # reason is in {#error}, and one WARN line says the same. Pass
  # +raise_on_telemetry_error: true+ to raise {TelemetryError} instead.
  #
  # @!attribute spans_exported [Integer] spans the collector accepted, since the process started
  # @!attribute spans_failed [Integer] spans whose export failed (collector down, refused,
  #   timed out), since the process started
  # @!attribute spans_dropped [Integer] spans dropped because the export queue was full
  # @!attribute spans_dropped_before_bootstrap [Integer] spans dropped from the
  #   pre-bootstrap buffer because it was full
  # @!attribute error [String, nil] why spans were lost since the previous report; nil when
  #   none were
  TelemetryReport = Struct.new(:spans_exported, :spans_failed, :spans_dropped,
                               :spans_dropped_before_bootstrap, :error, keyword_init: true) do
    # @return [Boolean] whether everything since the previous report reached the collector
    def complete?
      error.nil?
    end

    # @api private
    def self.from_native(h)
      new(**h).freeze
    end
  end
end
