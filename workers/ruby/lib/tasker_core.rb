# frozen_string_literal: true

require "json"
require "timeout"

require_relative "tasker_core/version"
require_relative "tasker_core/error"
# Phase 1: loading the extension starts console logging (Init_tasker_core), with no runtime.
begin
  require "tasker_core.so"
rescue LoadError => e
  raise LoadError, "tasker-core's compiled extension did not load (#{e.message}). A platform gem runs only " \
                   "on the platform and Ruby minor version it was built for; the source gem " \
                   "(`make ruby-gem`) compiles the extension for this one"
end
# Native::Worker objects come only from Native::Worker.bootstrap; one made by .new would be
# an empty shell whose every method raises.
TaskerCore::Native::Worker.singleton_class.send(:undef_method, :new)
TaskerCore::Native::Worker.singleton_class.send(:undef_method, :allocate)
require_relative "tasker_core/tracing"
require_relative "tasker_core/step_context"
require_relative "tasker_core/step_handler"
require_relative "tasker_core/handler_registry"
require_relative "tasker_core/task_result"
require_relative "tasker_core/telemetry_report"
require_relative "tasker_core/event_bridge"
require_relative "tasker_core/deadline"
require_relative "tasker_core/subscriber"
require_relative "tasker_core/worker"
require_relative "tasker_core/client"
require_relative "tasker_core/fork_hook"

# tasker-core for Ruby: write step handlers in Ruby; the Rust core runs the workflow and
# records one trace per task, across the FFI boundary and back.
#
# @example
#   class Square < TaskerCore::StepHandler::Base
#     def call(context)
#       n = context.dependency_results.values.first || context.input["even_number"]
#       success(result: n * n)
#     end
#   end
#   TaskerCore.register_handler("square", Square)
#   worker = TaskerCore.bootstrap_worker(concurrency: 4)
#   result = worker.run_task("linear_workflow.yaml", context: { even_number: 2 })
#   result.step_results # => {"linear_step_1"=>4, ...}
#   worker.stop
module TaskerCore
  @mutex = Mutex.new
  @worker = nil

  class << self
    # Registers a handler under the name templates use.
    #
    # @param name [String, Symbol] the handler name in templates
    # @param handler [Class<StepHandler::Base>, #call, nil] a handler class (a new instance
    #   runs each step) or anything that responds to +call(context)+
    # @yieldparam context [StepContext] when a block is given instead of +handler+
    # @return [void]
    # @raise [ArgumentError] when the handler is neither a handler class nor callable
    def register_handler(name, handler = nil, &block)
      handlers.register(name, handler || block)
      current = @worker
      current&.native&.register_handler(name.to_s) unless current.nil? || current.stopped?
      nil
    end

    # @return [HandlerRegistry] the registered handlers
    def handlers
      @handlers ||= HandlerRegistry.new
    end

    # Starts the process worker (phase 2: the Rust runtime and telemetry export), or returns
    # the running one. Idempotent: a second call with the same options returns the same
    # worker. Options are validated on every call; a call whose options differ from the
    # running worker's raises {ConfigurationError} naming each difference (stop the worker
    # first to change them).
    #
    # @param concurrency [Integer] Ruby threads running handlers at once
    # @param telemetry [Hash, nil] +{enabled:, endpoint:, traces_endpoint:, metrics_endpoint:,
    #   protocol:, headers:, timeout_ms:, compression:, certificate:, client_certificate:,
    #   client_key:, service_name:, service_version:, sample_ratio:}+, each the OTel variable of
    #   that name (docs/telemetry.md); overrides TELEMETRY_ENABLED and OTEL_* from the environment
    # @param handler_timeout [Numeric] seconds a handler may run, unless its step sets timeout_ms
    # @param database_url [String, nil] the task database {Worker#serve} claims steps from;
    #   nil reads TASKER_DATABASE_URL, then DATABASE_URL, when serving starts
    # @param queues [Array<String>, nil] the queues {Worker#serve} takes steps from (template
    #   +queue+ names, else namespaces)
    # @param options [Hash] +worker_id:+, +namespaces:+, +web_bind_address:+,
    #   +dispatch_buffer:+, +drain_timeout:+, +poll_interval:+ (seconds), +notify:+
    # @return [Worker]
    # @raise [ConfigurationError] for an unknown or invalid option
    def bootstrap_worker(concurrency: 4, telemetry: nil, handler_timeout: 30, database_url: nil, queues: nil, **options)
      @mutex.synchronize do
        opts = options.merge(concurrency: concurrency, handler_timeout: handler_timeout)
        opts[:telemetry] = telemetry if telemetry
        opts[:database_url] = database_url if database_url
        opts[:queues] = Array(queues).map(&:to_s) if queues
        install_exit_hook
        native = Native::Worker.bootstrap(opts)
        return @worker if @worker && !@worker.stopped? && @worker.worker_id == native.worker_id

        handlers.names.each { |n| native.register_handler(n) }
        asked = { concurrency: concurrency, telemetry: telemetry, handler_timeout: handler_timeout,
                  database_url: database_url, queues: queues, **options }
        @worker = Worker.new(native, concurrency: concurrency, handlers: handlers,
                                     rebootstrap: -> { TaskerCore.bootstrap_worker(**asked) })
      end
    end

    # @return [Worker, nil] the running worker, if any
    def worker
      w = @worker
      w unless w.nil? || w.stopped?
    end

    # A Logger-like object whose lines go through the Rust pipeline (console and, with
    # telemetry on, the OpenTelemetry export), tagged with the current step's trace ids.
    # @return [Tracing::Logger]
    def logger
      @logger ||= Tracing::Logger.new
    end

    # Exports every span ended so far (bounded, 5 s) and reports what telemetry did. Lost
    # spans are counted and named in the report, and logged once as a WARN, not raised.
    # @param raise_on_telemetry_error [Boolean] raise {TelemetryError} for lost spans instead
    # @return [TelemetryReport]
    # @raise [TelemetryError] only with +raise_on_telemetry_error: true+, when spans were lost
    def flush_telemetry(raise_on_telemetry_error: false)
      TelemetryReport.from_native(Native.flush_telemetry(raise_on_telemetry_error))
    end

    # Stops the worker (draining in-flight steps) and flushes telemetry. Runs at exit. Never
    # raises for telemetry: lost spans are counted in the report and logged once as a WARN.
    # @return [TelemetryReport, nil] nil when the worker could not be stopped here
    def shutdown
      w = @worker
      if w && !w.stopped?
        w.stop
      else
        TelemetryReport.from_native(Native.shutdown_telemetry(false))
      end
    rescue Error => e
      warn("tasker-core: shutdown: #{e.message}")
      nil
    end

    private

    # Registered at the first bootstrap rather than at require, so that it runs after
    # at_exit hooks registered earlier (test runners run their tests in one).
    def install_exit_hook
      return if @exit_hook

      @exit_hook = true
      at_exit { TaskerCore.shutdown }
    end

    public

    # @api private
    def after_fork_in_child
      Native.after_fork_in_child
      @worker&.forked!
      @worker = nil
      @mutex = Mutex.new
      Deadline.reset_after_fork
    end
  end
end

# Flush telemetry at exit even if no worker was ever bootstrapped (phase-1 spans).
at_exit { TaskerCore::Native.shutdown_telemetry(false) rescue nil } # rubocop:disable Style/RescueModifier
