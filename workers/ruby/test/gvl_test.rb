# frozen_string_literal: true

require_relative "test_helper"

# Waits in Rust release the GVL, in slices, and honour Ruby's interrupts between them; a
# Rust panic arrives as an exception, never an abort.
class GvlTest < Minitest::Test
  def setup
    TaskerCore.register_handler("square", Square)
    @worker = TaskerCore.bootstrap_worker(concurrency: 1)
  end

  def teardown
    @worker.stop
  end

  def test_other_ruby_threads_run_while_a_thread_waits_in_rust
    counted = 0
    counter = Thread.new { loop { counted += 1 } }
    assert_nil @worker.native.wait_event(0.5), "no step was queued"
    counter.kill
    assert_operator counted, :>, 10_000, "the counting thread ran while this one waited"
  end

  def test_thread_raise_ends_a_wait_in_rust_with_that_exception
    waiter = Thread.new { @worker.native.wait_event(30) }
    Thread.pass until waiter.status == "sleep" || !waiter.alive?
    waiter.raise(ArgumentError, "wake up")
    error = assert_raises(ArgumentError) { waiter.join(5) }
    assert_equal "wake up", error.message
    refute waiter.alive?, "the wait ended at the next slice, not after its 30 s"
  end

  def test_a_rust_panic_is_an_internal_error_and_ruby_lives_on
    error = assert_raises(TaskerCore::InternalError) { TaskerCore::Native.raise_rust_panic("on purpose") }
    assert_equal "Rust panic in tasker-core: on purpose", error.message
    assert @worker.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 }).complete?
  end
end
