# frozen_string_literal: true

module TaskerCore
  module StepHandler
    # What a handler returns: built with {Base#success} or {Base#failure}.
    Result = Struct.new(:success, :result, :metadata, :error_message, :error_type, :retryable,
                        keyword_init: true) do
      # @return [Boolean]
      def success?
        success
      end
    end

    # Subclass it and implement +call(context)+.
    #
    # @example
    #   class ChargeCard < TaskerCore::StepHandler::Base
    #     def call(context)
    #       return failure(message: "no amount", error_type: "ValidationError", retryable: false) unless context.input["amount"]
    #       success(result: { charged: context.input["amount"] }, metadata: { gateway: "test" })
    #     end
    #   end
    #
    # A raised exception fails the step with its message and class (retryable). A handler
    # that runs past its timeout fails the step with error_type "timeout".
    class Base
      # @param context [StepContext]
      # @return [Result]
      def call(context)
        raise Error, "#{self.class.name} must define call(context); it got a step for #{context.step_name}"
      end

      # @param result [Object] JSON-compatible (Hash, Array, String, Numeric, true, false, nil)
      # @param metadata [Hash] recorded with the step
      # @return [Result]
      def success(result: nil, metadata: {})
        Result.new(success: true, result: result, metadata: metadata)
      end

      # @param message [String] why the step failed
      # @param error_type [String] the error's class
      # @param retryable [Boolean] whether the step may be tried again (up to max_attempts)
      # @param metadata [Hash]
      # @return [Result]
      def failure(message:, error_type: "StepFailure", retryable: true, metadata: {})
        Result.new(success: false, error_message: message.to_s, error_type: error_type.to_s,
                   retryable: retryable ? true : false, metadata: metadata)
      end
    end
  end
end
