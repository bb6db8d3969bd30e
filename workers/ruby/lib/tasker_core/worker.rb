# frozen_string_literal: true

module TaskerCore
  # The running worker. Its Ruby threads wait for step events with the GVL released and run
  # handlers concurrently.
  #
  # A handler that outlives its step's timeout gets {Deadline}'s +Timeout::Error+; one that
  # rescues it, or spins in an +ensure+, keeps its thread. The Rust worker has failed that
  # step at its timeout already (the task goes on without it), and a supervisor thread
  # replaces the stuck handler thread, so the pool never shrinks; the stuck thread is
  # abandoned and leaves once its handler returns. The caller of {#run_task} never runs a
  # handler itself, so it always gets its result on time.
  class Worker
    # Seconds one wait lasts before the thread checks whether the worker stopped.
    WAIT_SECONDS = 1.0
    # How often the supervisor looks for handlers that outlived their step's timeout.
    SUPERVISE_SECONDS = 0.25
    # How long past its step's timeout a handler may keep its thread before it is replaced.
    GRACE_SECONDS = 0.5
    # How long {#stop} waits for handler threads once the Rust worker has drained.
    JOIN_SECONDS = 1.0

    # @return [Native::Worker] the Rust handle
    attr_reader :native
    # @return [Integer] Ruby threads running handlers
    attr_reader :concurrency

    # @api private
    def initialize(native, concurrency:, handlers:, rebootstrap: nil)
      @native = native
      @rebootstrap = rebootstrap
      @concurrency = concurrency
      @subscriber = Subscriber.new(native, handlers)
      @forked = false
      @lock = Mutex.new
      @busy = {}.compare_by_identity # thread => [deadline, step name] while it runs a handler
      @abandoned = {}.compare_by_identity
      @spawned = 0
      @stopping = false
      @stop_signal = ConditionVariable.new
      @threads = []
      @lock.synchronize { concurrency.times { spawn_thread } }
      @supervisor = start_supervisor
    end

    # Runs a task to its end.
    #
    # The calling thread drives the task with the GVL released; handlers run on the
    # worker's threads. A step whose handler outlives its +timeout_ms+ fails as +timeout+ at
    # that moment, whether or not the handler ever returns. An interrupt (Ctrl-C) cancels the
    # task: its queued steps never run, and {#stop} does not wait for the running ones.
    #
    # @param template [String, Hash] a YAML/JSON file path, or the template as a Hash:
    #   +{namespace:, name:, version:, steps: [{name:, handler:, depends_on:, max_attempts:, timeout_ms:}]}+
    # @param context [Hash] the task's input (JSON-compatible)
    # @param timeout [Numeric, nil] seconds to wait; nil waits as long as it takes
    # @return [TaskResult]
    # @raise [TemplateError] for an invalid template
    # @raise [UnknownHandlerError] when a step names an unregistered handler
    # @raise [ConversionError] when the context is not a Hash
    # @raise [TypeError] when the timeout is not a number
    # @raise [TimeoutError] when the task runs longer than +timeout+
    # @raise [WorkerStoppedError] after {#stop}
    def run_task(template, context: {}, timeout: 30)
      ensure_usable!
      raise ConversionError, "context must be a Hash (a JSON object), got #{context.class}" unless context.nil? || context.is_a?(Hash)
      raise TypeError, "timeout must be a number of seconds or nil, got #{timeout.class}" unless timeout.nil? || timeout.is_a?(Numeric)

      TaskResult.from_native(@native.run_task(template, context || {}, timeout&.to_f))
    end

    # Serves the worker's queues (+bootstrap_worker(database_url:, queues: [...])+) until
    # {#stop} from another thread, INT or TERM; then stops claiming, finishes and records the
    # steps it holds, and returns what it did.
    #
    # Blocks with the GVL released; handlers run on the worker's threads, as for
    # {#run_task}, with the same {StepContext}. While it serves it traps INT and TERM (and
    # restores the previous handlers), so Ctrl-C drains instead of raising +Interrupt+.
    #
    # In a child forked after {TaskerCore.bootstrap_worker} (a pre-forking server), it first
    # bootstraps the child's own worker with the same options: a new runtime, database pool
    # and telemetry pipeline, shared with nobody.
    #
    # @return [Hash{Symbol=>Integer}] +{claimed:, recorded:, duplicates:, redelivered:}+
    # @raise [ConfigurationError] when the worker was bootstrapped without queues, or no
    #   database is configured
    # @raise [DatabaseError] when the database cannot be reached or is not migrated
    def serve
      return @rebootstrap.call.serve if @forked && @rebootstrap

      ensure_usable!
      previous = %w[INT TERM].to_h { |sig| [sig, trap(sig) { @native.stop_serving }] }
      begin
        @native.serve
      ensure
        previous.each { |sig, handler| trap(sig, handler || "DEFAULT") }
      end
    end

    # Stops taking steps, drains in-flight ones, and flushes telemetry. Idempotent.
    #
    # Bounded: the Rust worker waits at most +drain_timeout+ for running steps, then handler
    # threads get {JOIN_SECONDS} to leave. A thread still running a handler then (one that
    # outlived its step) is left behind.
    #
    # Spans that could not be exported (a collector that is down or too slow) do not fail the
    # stop: the report counts them and names the reason, and one WARN line says so.
    # @param raise_on_telemetry_error [Boolean] raise {TelemetryError} for lost spans instead
    #   (the worker is stopped all the same)
    # @return [TelemetryReport, nil] what telemetry exported, failed and dropped; nil in a
    #   forked child, where this worker is not the child's to stop
    # @raise [WorkerStoppedError] when called from inside a step handler, which the stop
    #   would wait for (nothing is stopped); stop from outside the handlers
    # @raise [TelemetryError] only with +raise_on_telemetry_error: true+, when spans were lost
    def stop(raise_on_telemetry_error: false)
      return if @forked

      @native.check_stop
      @lock.synchronize do
        @stopping = true
        @stop_signal.broadcast
      end
      begin
        report = @native.stop(raise_on_telemetry_error)
      ensure
        deadline = now + JOIN_SECONDS
        threads = @lock.synchronize { @threads.dup }
        threads.each { |t| t.join([deadline - now, 0].max) }
      end
      TelemetryReport.from_native(report)
    end

    # @return [Integer] handler threads serving steps now: alive and not abandoned to a
    #   runaway handler. Stays at {#concurrency} while the worker runs.
    def handler_threads
      @lock.synchronize { @threads.count { |t| t.alive? && !@abandoned.key?(t) } }
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

    def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

    # Starts one handler thread; call with @lock held.
    def spawn_thread
      index = @spawned
      @spawned += 1
      @threads = @threads.select(&:alive?) << Thread.new { handler_loop(index) }
    end

    def handler_loop(index)
      Thread.current.name = "tasker-handler-#{index}"
      Thread.current.report_on_exception = false
      loop do
        event = @native.wait_event(WAIT_SECONDS)
        next unless event

        return if handle(EventBridge.wrap_step_execution_event(event)) == :replaced
      end
    rescue WorkerStoppedError
      nil
    end

    # Runs one step's handler, registered as busy until it returns. Returns :replaced when
    # the supervisor gave this thread's place to another while the handler overran.
    def handle(wrapped)
      step = wrapped[:task_sequence_step]["workflow_step"]
      @lock.synchronize { @busy[Thread.current] = [now + @subscriber.timeout_for(wrapped), step["name"]] }
      begin
        @subscriber.handle(wrapped)
      rescue Exception => e # rubocop:disable Lint/RescueException
        # The subscriber turns every handler exception into a failed step; what gets here came
        # from outside the handler (a Thread#raise between steps, a bug of ours). The thread
        # goes on serving: a pool that silently shrinks is worse.
        Tracing.warn("handler thread caught an exception outside a handler", error: e.inspect)
      end
    ensure
      @lock.synchronize do
        @busy.delete(Thread.current)
        return :replaced if @abandoned.delete(Thread.current)
      end
    end

    def start_supervisor
      Thread.new do
        Thread.current.name = "tasker-supervisor"
        Thread.current.report_on_exception = false
        @lock.synchronize do
          until @stopping || @forked
            @stop_signal.wait(@lock, SUPERVISE_SECONDS)
            replace_stuck_threads
          end
        end
      end
    end

    # Runs with @lock held.
    def replace_stuck_threads
      t = now
      @busy.each do |thread, (deadline, step)|
        next if @abandoned.key?(thread) || t <= deadline + GRACE_SECONDS

        @abandoned[thread] = true
        spawn_thread
        Tracing.warn("handler outlived its step's timeout; its thread is abandoned and replaced",
                     step_name: step, overdue_seconds: (t - deadline).round(3))
      end
    end
  end
end
