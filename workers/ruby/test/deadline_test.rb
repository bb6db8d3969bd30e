# frozen_string_literal: true

require_relative "test_helper"

# One watchdog thread enforces every handler's time limit (no thread per call).
class DeadlineTest < Minitest::Test
  Deadline = TaskerCore::Deadline

  def test_a_block_that_finishes_in_time_returns_its_value_and_withdraws_its_deadline
    assert_equal 42, Deadline.guard(5) { 42 }
    assert_equal 0, Deadline.pending
  end

  def test_a_block_that_overruns_raises_timeout_error_in_its_own_thread
    started = now
    error = assert_raises(Timeout::Error) { Deadline.guard(0.05) { sleep 5 } }
    assert_equal "execution expired", error.message
    assert_operator now - started, :<, 2, "the sleep was interrupted, not waited out"
    assert_equal 0, Deadline.pending
  end

  def test_a_handler_rescuing_standard_error_cannot_swallow_the_expiry
    assert_raises(Timeout::Error) do
      Deadline.guard(0.05) do
        begin
          sleep 5
        rescue StandardError
          :swallowed
        end
      end
    end
  end

  def test_a_short_deadline_filed_after_a_long_one_still_fires_on_time
    long = Thread.new { Deadline.guard(30) { sleep 0.5; :long } }
    sleep 0.05
    assert_raises(Timeout::Error) { Deadline.guard(0.05) { sleep 5 } }
    assert_equal :long, long.value
  end

  def test_each_thread_gets_only_its_own_expiry
    results = Array.new(4) do |i|
      Thread.new do
        Deadline.guard(i.zero? ? 0.05 : 5) { sleep(i.zero? ? 5 : 0.2); :done }
      rescue Timeout::Error
        :expired
      end
    end.map(&:value)
    assert_equal %i[expired done done done], results
  end

  def test_an_exception_from_the_block_passes_through_unchanged
    error = assert_raises(ArgumentError) { Deadline.guard(5) { raise ArgumentError, "bad" } }
    assert_equal "bad", error.message
    assert_equal 0, Deadline.pending
  end

  def test_a_hanging_handler_fails_its_step_and_frees_its_thread_for_the_next
    TaskerCore.register_handler("hangs") { |_ctx| sleep 30 }
    TaskerCore.register_handler("quick") { |_ctx| :ok }
    worker = TaskerCore.bootstrap_worker(concurrency: 1, handler_timeout: 10)
    slow = { namespace: "deadline", name: "hang", steps: [{ name: "h", handler: "hangs", timeout_ms: 100, max_attempts: 1 }] }
    result = worker.run_task(slow, timeout: 10)
    assert_equal "error", result.status
    assert_equal "timeout", result.steps["h"]["error_type"], result.steps["h"].inspect
    quick = worker.run_task({ namespace: "deadline", name: "quick", steps: [{ name: "q", handler: "quick" }] }, timeout: 5)
    assert_equal({ "q" => "ok" }, quick.step_results, "the only handler thread was freed")
  end

  private

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end
