# frozen_string_literal: true

require_relative "test_helper"

class BridgeTest < Minitest::Test
  def worker
    TaskerCore.register_handler("square", Square)
    TaskerCore.register_handler("sum_dependencies", SumDependencies)
    TaskerCore.bootstrap_worker(concurrency: 4, handler_timeout: 10)
  end

  def test_linear_and_diamond_complete_with_dependency_results_delivered
    linear = worker.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 })
    assert linear.complete?, linear.inspect
    assert_equal({ "linear_step_1" => 4, "linear_step_2" => 16, "linear_step_3" => 256, "linear_step_4" => 65_536 },
                 linear.step_results)
    diamond = worker.run_task(File.join(TEMPLATES, "diamond_workflow.yaml"), context: { "even_number" => 2 })
    assert_equal "complete", diamond.status
    assert_equal 32, diamond.step_results["diamond_end"]
    assert_equal "complete", diamond.steps["diamond_start"]["status"]
    assert_match(/\A\h{32}\z/, diamond.trace_id)
  end

  def test_handlers_run_concurrently_on_ruby_threads
    arrived = Queue.new
    release = Queue.new
    TaskerCore.register_handler("meet") do |_ctx|
      arrived << Thread.current
      # Only when all four are inside at once does any of them go on.
      Timeout.timeout(5) { release.pop }

      "met"
    end
    w = worker
    steps = [{ name: "root", handler: "square" }] +
            (1..4).map { |i| { name: "b#{i}", handler: "meet", depends_on: ["root"] } }
    runner = Thread.new { w.run_task(TestSupport.template("fan", steps), context: { even_number: 2 }) }
    threads = Timeout.timeout(10) { Array.new(4) { arrived.pop } }
    4.times { release << true }
    result = runner.value
    assert result.complete?, result.inspect
    assert_equal 4, threads.uniq.size, "four threads at once: #{threads.map(&:name).inspect}"
    refute_includes threads, runner, "the thread running the task never runs a handler"
  end

  def test_ffi_floor_yields_from_rust_n_times_and_lets_an_exception_through
    calls = 0
    assert_nil(TaskerCore::Native.ffi_floor(3) { calls += 1 })
    assert_equal 3, calls
    err = assert_raises(ArgumentError) { TaskerCore::Native.ffi_floor(1) { raise ArgumentError, "from the block" } }
    assert_equal "from the block", err.message
    assert_raises(LocalJumpError) { TaskerCore::Native.ffi_floor(1) }
  end

  def test_a_raised_exception_becomes_a_failed_step_with_its_message
    TaskerCore.register_handler("boom") { |_ctx| raise ArgumentError, "card declined" }
    result = worker.run_task(TestSupport.template("boom", [{ name: "charge", handler: "boom" },
                                                           { name: "ship", handler: "square", depends_on: ["charge"] }]))
    assert result.error?
    assert_equal "failed", result.steps["charge"]["status"]
    assert_equal "card declined", result.steps["charge"]["error"]
    assert_equal "ArgumentError", result.steps["charge"]["error_type"]
    assert_equal "skipped", result.steps["ship"]["status"]
  end

  def test_failure_with_retryable_false_is_not_retried_and_retryable_failures_are
    calls = Queue.new
    flaky = Class.new(TaskerCore::StepHandler::Base) do
      define_method(:call) do |ctx|
        calls << ctx.attempt
        ctx.attempt < 2 ? failure(message: "try again", error_type: "Flaky") : success(result: ctx.attempt)
      end
    end
    TaskerCore.register_handler("flaky", flaky)
    TaskerCore.register_handler("fatal") { |_c| TaskerCore::StepHandler::Base.new.failure(message: "no", retryable: false) }
    result = worker.run_task(TestSupport.template("retry", [{ name: "f", handler: "flaky", max_attempts: 3 },
                                                            { name: "g", handler: "fatal", max_attempts: 3 }]))
    assert_equal 2, result.step_results["f"]
    assert_equal 2, result.steps["f"]["attempts"]
    assert_equal 1, result.steps["g"]["attempts"]
    assert_equal "StepFailure", result.steps["g"]["error_type"]
  end

  def test_a_handler_that_runs_past_its_timeout_becomes_a_failed_step
    TaskerCore.register_handler("slow") { |_ctx| sleep 5 }
    result = worker.run_task(TestSupport.template("slow", [{ name: "s", handler: "slow", timeout_ms: 200 }]))
    assert_equal "failed", result.steps["s"]["status"]
    assert_equal "timeout", result.steps["s"]["error_type"]
  end

  def test_an_unknown_handler_raises_before_anything_runs
    error = assert_raises(TaskerCore::UnknownHandlerError) do
      worker.run_task(TestSupport.template("x", [{ name: "s", handler: "nobody" }]))
    end
    assert_equal 'no handler registered as "nobody"', error.message
    assert_kind_of TaskerCore::Error, error
  end

  def test_a_bad_template_raises_a_template_error
    cyclic = TestSupport.template("cyc", [{ name: "a", handler: "square", depends_on: ["b"] },
                                          { name: "b", handler: "square", depends_on: ["a"] }])
    error = assert_raises(TaskerCore::TemplateError) { worker.run_task(cyclic) }
    assert_equal "task template ruby_test/cyc@1.0.0 has a dependency cycle: a -> b -> a", error.message
    error = assert_raises(TaskerCore::TemplateError) { worker.run_task("/nonexistent.yaml") }
    assert_match(%r{\Acannot read task template /nonexistent.yaml}, error.message)
  end

  def test_a_task_longer_than_the_callers_timeout_raises_timeout_error
    TaskerCore.register_handler("nap") { |_ctx| sleep 1 }
    error = assert_raises(TaskerCore::TimeoutError) do
      worker.run_task(TestSupport.template("nap", [{ name: "s", handler: "nap" }]), timeout: 0.1)
    end
    assert_match(/did not finish within 0.1 s\z/, error.message)
  end

  def test_poll_never_blocks
    assert_nil worker.native.poll_event
  end
end

