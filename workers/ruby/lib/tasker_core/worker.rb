# frozen_string_literal: true

module TaskerCore
  # The running worker. Its Ruby threads wait for step events with the GVL released and run
  # handlers concurrently.
  class Worker
    # Seconds one wait lasts before the thread checks whether the worker stopped.
    WAIT_SECONDS = 1.0

    # @return [Native::Worker] the Rust handle
    attr_reader :native
    # @return [Integer] Ruby threads running handlers
    attr_reader :concurrency

    # @api private
    def initialize(native, concurrency:, handlers:)
      @native = native
      @concurrency = concurrency
      @subscriber = Subscriber.new(native, handlers)
      @forked = false
      @threads = Array.new(concurrency) { |i| start_thread(i) }
    end

    # Runs a task to its end.
    #
    # @param template [String, Hash] a YAML/JSON file path, or the template as a Hash:
    #   +{namespace:, name:, version:, steps: [{name:, handler:, depends_on:, max_attempts:, timeout_ms:}]}+
    # @param context [Hash] the task's input (JSON-compatible)
    # @param timeout [Numeric, nil] seconds to wait; nil waits as long as it takes
    # @return [TaskResult]
    # @raise [TemplateError] for an invalid template
    # @raise [UnknownHandlerError] when a step names an unregistered handler
    # @raise [TimeoutError] when the task runs longer than +timeout+
    # @raise [WorkerStoppedError] after {#stop}
    def run_task(template, context: {}, timeout: 30)
      ensure_usable!
      # This thread runs the handlers of the steps it takes while it waits: a step it takes
      # never waits for a handler thread to wake and get the GVL.
      result = @native.run_task(template, context, timeout&.to_f) do |event|
        @subscriber.handle(EventBridge.wrap_step_execution_event(event))
      end
      TaskResult.from_native(result)
    end

    # Stops taking steps, drains in-flight ones, and flushes telemetry. Idempotent.
    # @return [void]
    def stop
      return if @forked

      @native.stop
      @threads.each { |t| t.join(5) }
      nil
    end

    # @return [Boolean]
    def stopped?
      @forked || @native.stopped?
    end

    # @return [String] e.g. "worker-1a2b3c4d"
    def worker_id
      @native.worker_id
    end

    # @return [String, nil] where /health and /metrics are served
    def web_address
      @native.web_address
    end

    # @api private
    def forked!
      @forked = true
    end

    private

    def ensure_usable!
      raise ForkedWorkerError, "this worker was started in a parent process; after fork, call TaskerCore.bootstrap_worker in the child" if @forked
    end

    def start_thread(index)
      Thread.new do
        Thread.current.name = "tasker-handler-#{index}"
        Thread.current.report_on_exception = true
        loop do
          event = @native.wait_event(WAIT_SECONDS)
          @subscriber.handle(EventBridge.wrap_step_execution_event(event)) if event
        end
      rescue WorkerStoppedError
        nil
      end
    end
  end
end
