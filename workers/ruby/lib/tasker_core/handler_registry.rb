# frozen_string_literal: true

module TaskerCore
  # Handlers by name. Thread-safe.
  class HandlerRegistry
    def initialize
      @handlers = {}
      @mutex = Mutex.new
    end

    # @param name [String, Symbol]
    # @param handler [Class<StepHandler::Base>, #call]
    # @return [void]
    def register(name, handler)
      valid = (handler.is_a?(Class) && handler.method_defined?(:call)) || handler.respond_to?(:call)
      unless valid
        raise ArgumentError,
              "handler for #{name.inspect} must be a StepHandler::Base subclass or respond to call(context), got #{handler.inspect}"
      end
      @mutex.synchronize { @handlers[name.to_s] = handler }
    end

    # @return [Array<String>]
    def names
      @mutex.synchronize { @handlers.keys }
    end

    # The object to call for +name+: a fresh instance for a class, else the callable itself.
    # @return [#call, nil]
    def resolve(name)
      h = @mutex.synchronize { @handlers[name.to_s] }
      h.is_a?(Class) ? h.new : h
    end
  end
end
