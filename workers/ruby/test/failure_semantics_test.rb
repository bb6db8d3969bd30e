# frozen_string_literal: true

require_relative "test_helper"

# What a runaway handler, a host exception and an interrupt do: the step fails with its
# reason, the caller gets its result, the handler pool keeps its size, and stop is bounded.
class FailureSemanticsTest < Minitest::Test
  LINEAR = File.join(TEMPLATES, "linear_workflow.yaml")

  def worker
    TaskerCore.register_handler("square", Square)
    TaskerCore.bootstrap_worker(concurrency: 4, handler_timeout: 10, telemetry: { enabled: false })
  end

  # Runs the task on another thread, so a run_task that never returns fails the test instead
  # of hanging it.
  def run_in_thread(template)
    t = Thread.new { worker.run_task(template, timeout: 20) }
    assert t.join(30), "run_task did not return"
    t.value
  end

  def wait_until(seconds = 5)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    sleep 0.05 until yield || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
  end

  def test_a_handler_that_rescues_its_timeout_and_never_returns_fails_as_timeout_and_frees_the_caller
    release = Queue.new
    TaskerCore.register_handler("stubborn") do |_ctx|
      begin
        release.pop
      rescue Exception # rubocop:disable Lint/RescueException
        retry # swallows Deadline's Timeout::Error, for ever
      end
      "too late"
    end
    result = run_in_thread(TestSupport.template("runaway", [{ name: "stuck", handler: "stubborn", timeout_ms: 300,
                                                              max_attempts: 1 }]))
    assert_equal "error", result.status
    assert_equal "timeout", result.steps["stuck"]["error_type"]
    assert_match(/\Ahandler timed out after \d+ ms\z/, result.steps["stuck"]["error"])
    wait_until { worker.handler_threads == 4 }
    assert_equal 4, worker.handler_threads, "the stuck thread was replaced"
    assert worker.run_task(LINEAR, context: { even_number: 2 }).complete?
  ensure
    release&.push(true)
  end

  def test_a_handler_spinning_in_an_ensure_past_its_timeout_is_recorded_at_the_timeout
    TaskerCore.register_handler("spins") do |_ctx|
      sleep 10
    ensure
      sleep 3
    end
    result = run_in_thread(TestSupport.template("ensure", [{ name: "spin", handler: "spins", timeout_ms: 200,
                                                             max_attempts: 1 }]))
    assert_equal "timeout", result.steps["spin"]["error_type"]
  end

  [[Interrupt, "Interrupt"], [SignalException.new("TERM"), "SignalException"], [SystemExit.new(3), "SystemExit"],
   [NoMemoryError.new("fake"), "NoMemoryError"]].each do |raised, name|
    define_method("test_#{name.downcase}_from_a_handler_fails_the_step_and_keeps_the_thread") do
      TaskerCore.register_handler("raises") { |_ctx| raise raised }
      steps = (1..4).map { |i| { name: "s#{i}", handler: "raises", max_attempts: 1 } }
      result = worker.run_task(TestSupport.template("exception", steps), timeout: 20)
      assert_equal "error", result.status
      result.steps.each_value do |step|
        assert_equal name, step["error_type"]
        assert_match(/\Ahandler raised #{name}: .*; a handler cannot exit or interrupt the worker, so the step failed\z/,
                     step["error"])
        assert_equal 1, step["attempts"], "not retried"
      end
      assert_equal 4, worker.handler_threads
      assert worker.run_task(LINEAR, context: { even_number: 2 }).complete?
    end
  end

  def test_stop_after_a_handler_raised_a_signal_exception_raises_nothing
    TaskerCore.register_handler("term") { |_ctx| raise SignalException, "TERM" }
    w = worker
    w.run_task(TestSupport.template("term", [{ name: "t", handler: "term", max_attempts: 1 }]))
    w.stop
    assert w.stopped?
  end

  STOP_MESSAGE = "stop was called from inside a step handler, which the stop would wait for; stop the " \
                 "worker from outside its handlers (after run_task returns, or from another thread)"

  def test_stop_from_inside_a_handler_is_refused_and_the_worker_keeps_running
    w = worker
    TaskerCore.register_handler("stops_its_worker") do |_ctx|
      w.stop
      "stopped"
    rescue TaskerCore::WorkerStoppedError => e
      "#{e.class}: #{e.message}"
    end
    template = TestSupport.template("stop_in_handler", [{ name: "a", handler: "stops_its_worker" }])
    result = run_in_thread(template)
    assert_equal({ "a" => "TaskerCore::WorkerStoppedError: #{STOP_MESSAGE}" }, result.step_results)
    refute w.stopped?
    assert run_in_thread(template).complete?, "every handler thread still serves"
  end

  def test_a_context_or_timeout_of_the_wrong_type_is_refused
    error = assert_raises(TaskerCore::ConversionError) { worker.run_task(LINEAR, context: [[:even_number, 2]]) }
    assert_equal "context must be a Hash (a JSON object), got Array", error.message
    error = assert_raises(TypeError) { worker.run_task(LINEAR, context: { even_number: 2 }, timeout: "x") }
    assert_equal "timeout must be a number of seconds or nil, got String", error.message
  end

  # Ctrl-C comes from outside the process (the terminal), so the test sends SIGINT from
  # its own process once the handler has started, as a terminal would.
  CTRL_C = <<~RUBY
    require "tasker_core"
    $stdout.sync = true
    TaskerCore.register_handler("blocks") { |_ctx| puts "started"; sleep 60 }
    w = TaskerCore.bootstrap_worker(concurrency: 2, telemetry: { enabled: false })
    begin
      w.run_task({ namespace: "rb", name: "ctrl_c", steps: [{ name: "s", handler: "blocks" }] }, timeout: 30)
    rescue Interrupt
      puts "interrupted"
    end
    w.stop
    puts "stopped"
  RUBY

  def test_ctrl_c_cancels_the_callers_task_so_stop_does_not_wait_for_its_steps
    env = { "NO_COLOR" => "1", "RUST_LOG" => "info" }
    out, err, status = Open3.popen3(env, RbConfig.ruby, "-e", CTRL_C) do |stdin, stdout, stderr, waiter|
      stdin.close
      errors = Thread.new { stderr.read }
      started = stdout.gets
      sleep 0.2
      Process.kill("INT", waiter.pid)
      [started.to_s + stdout.read, errors.value, waiter.value]
    end
    assert status.success?, err
    assert_equal %w[started interrupted stopped], out.split
    assert_includes err, "task.cancelled: its caller stopped waiting"
    assert_includes err, "cancelled_steps=1"
    stopped = err.lines.find { |l| l.include?("Worker stopped") }
    assert_includes stopped.to_s, "abandoned_steps=0", err
  end

  SILENT_COLLECTOR = <<~RUBY
    require "socket"
    require "tasker_core"
    server = TCPServer.new("127.0.0.1", 0)
    held = []
    Thread.new { loop { held << server.accept } }
    TaskerCore.register_handler("noop") { |_ctx| 1 }
    w = TaskerCore.bootstrap_worker(concurrency: 2, telemetry: { enabled: true, endpoint: "http://127.0.0.1:\#{server.addr[1]}" })
    t = { namespace: "rb", name: "silent", steps: (0...9).map { |i| { name: "s\#{i}", handler: "noop" } } }
    10.times { raise "incomplete" unless w.run_task(t).complete? }
    [TaskerCore.method(:flush_telemetry), w.method(:stop)].each do |call|
      call.call(raise_on_telemetry_error: true)
      puts "no error"
    rescue TaskerCore::TelemetryError => e
      puts e.message
    end
  RUBY

  def test_a_strict_flush_and_stop_against_a_collector_that_never_answers_raise_with_every_lost_span_counted
    # 10 tasks of 9 steps: 190 spans against an export queue of 64 and one export at a time.
    # The export timeout outlasts both 5 s bounds, so the export is still waiting at each.
    # The batch being sent has left the queue, so 64 to 128 spans wait and the rest drop.
    out, err, status = TestSupport.ruby(SILENT_COLLECTOR, "OTEL_BSP_MAX_QUEUE_SIZE" => "64",
                                                          "OTEL_BSP_MAX_CONCURRENT_EXPORTS" => "1",
                                                          "OTEL_EXPORTER_OTLP_TIMEOUT" => "30000")
    assert status.success?, err
    flush, stop = out.lines.map(&:chomp)
    m = /\Aflushing telemetry failed: timed out after 5000 ms; (\d+) span\(s\) were dropped because the export queue was full \(the collector did not keep up; see OTEL_BSP_MAX_QUEUE_SIZE\); (\d+) span\(s\) are still waiting for the collector\z/.match(flush)
    assert m, flush
    dropped, waiting = m[1].to_i, m[2].to_i
    assert_equal 190, dropped + waiting, flush
    assert_includes 64..128, waiting, flush
    assert_equal "shutting telemetry down failed: timed out after 5000 ms; #{waiting} span(s) still waiting for the collector " \
                 "were lost", stop
  end

  COLLECTOR_DOWN = <<~RUBY
    require "socket"
    require "tasker_core"
    port = TCPServer.new("127.0.0.1", 0)
    free = port.addr[1]
    port.close
    TaskerCore.register_handler("noop") { |_ctx| 1 }
    w = TaskerCore.bootstrap_worker(telemetry: { enabled: true, endpoint: "http://127.0.0.1:\#{free}" })
    raise "incomplete" unless w.run_task({ namespace: "rb", name: "down", steps: [{ name: "a", handler: "noop" }] }).complete?
    report = w.stop
    puts [report.spans_exported, report.spans_failed, report.spans_dropped, report.complete?].join(" ")
    puts report.error
    puts w.stop.error.inspect
  RUBY

  def test_stop_against_a_collector_that_is_down_returns_the_loss_and_warns_once
    out, err, status = TestSupport.ruby(COLLECTOR_DOWN)
    assert status.success?, err
    counts, error, again = out.lines.map(&:chomp)
    assert_equal "0 3 0 false", counts
    assert_match %r{\Ashutting telemetry down failed: 3 span\(s\) could not be exported: cannot reach http://127\.0\.0\.1:\d+/v1/traces: .+\z}, error
    assert_equal "nil", again # a second stop reports nothing new
    warns = err.lines.grep(/ WARN /)
    assert_equal 1, warns.size, err
    assert_includes warns.first, "Telemetry was not fully exported; nothing else failed"
    assert_includes warns.first, "spans_failed=3"
    assert_includes warns.first, 'operation="shutdown"'
  end
end
