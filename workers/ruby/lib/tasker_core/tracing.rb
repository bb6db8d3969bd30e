# frozen_string_literal: true

module TaskerCore
  # Ruby logging through the Rust pipeline. Inside a handler, each line carries the step's
  # trace_id and span_id.
  #
  # @example
  #   TaskerCore::Tracing.info("charged card", amount: 42)
  module Tracing
    LEVELS = %w[trace debug info warn error].freeze

    class << self
      LEVELS.each do |level|
        # @param message [String]
        # @param fields [Hash] JSON-compatible structured fields
        # @return [void]
        define_method(level) { |message, **fields| log(level, message, **fields) }
      end

      # @return [void]
      def log(level, message, **fields)
        step = Thread.current[:tasker_core_step]
        fields = step.merge(fields) if step
        Native.log(level.to_s, message.to_s, fields)
      end

      # The trace ids of the step this thread is running, if any.
      # @return [Hash{Symbol=>String}, nil]
      def current_step
        Thread.current[:tasker_core_step]
      end
    end

    # A Logger-compatible front for {Tracing}: +debug/info/warn/error/fatal+ with a message
    # or a block, and +add(severity, message)+.
    class Logger
      SEVERITIES = { 0 => "debug", 1 => "info", 2 => "warn", 3 => "error", 4 => "error", 5 => "info" }.freeze

      attr_accessor :level, :progname

      def initialize
        @level = 0
      end

      %w[debug info warn error fatal].each_with_index do |name, severity|
        define_method(name) { |message = nil, &block| add(severity, message, &block) }
        define_method("#{name}?") { severity >= @level }
      end

      # @return [true]
      def add(severity, message = nil, progname = nil)
        severity ||= 5
        return true if severity < @level

        message = block_given? ? yield : (message || progname)
        Tracing.log(SEVERITIES.fetch(severity, "info"), message.to_s)
        true
      end
      alias log add
    end
  end
end
