# frozen_string_literal: true

require_relative "test_helper"

class ConversionsTest < Minitest::Test
  def worker
    TaskerCore.bootstrap_worker(concurrency: 2)
  end

  def run_one(handler)
    TaskerCore.register_handler("h", handler)
    worker.run_task(TestSupport.template("conv", [{ name: "s", handler: "h" }]),
                    context: { "nested" => { "list" => [1, 2.5, "x", nil, true] }, sym: :val })
  end

  def test_json_values_round_trip_through_the_core
    seen = nil
    result = run_one(->(ctx) { seen = ctx.input; { "echo" => ctx.input, big: 2**62, neg: -3, f: 0.5 } })
    assert result.complete?, result.inspect
    assert_equal({ "nested" => { "list" => [1, 2.5, "x", nil, true] }, "sym" => "val" }, seen)
    assert_equal({ "echo" => seen, "big" => 2**62, "neg" => -3, "f" => 0.5 }, result.step_results["s"])
  end

  def test_a_result_that_is_not_json_becomes_a_failed_step_with_the_reason
    result = run_one(->(_ctx) { { "when" => Time.at(0) } })
    step = result.steps["s"]
    assert_equal "failed", step["status"]
    assert_equal "invalid_result", step["error_type"]
    assert_match(/completion\["result"\]\["when"\] is a Time, which is not JSON/, step["error"])
  end

  def test_non_finite_floats_and_huge_integers_are_refused
    assert_match(/is NaN, which JSON cannot hold/, run_one(->(_c) { Float::NAN }).steps["s"]["error"])
    assert_match(/outside the 64-bit range/, run_one(->(_c) { 2**70 }).steps["s"]["error"])
  end

  def test_a_cyclic_result_is_refused_not_a_crash
    result = run_one(->(_c) { a = []; a << a; a })
    assert_match(/nested more than 128 levels deep/, result.steps["s"]["error"])
  end

  def test_a_context_that_is_not_json_raises_conversion_error
    TaskerCore.register_handler("h", ->(_c) { 1 })
    error = assert_raises(TaskerCore::ConversionError) do
      worker.run_task(TestSupport.template("c", [{ name: "s", handler: "h" }]), context: { "x" => Object.new })
    end
    assert_match(/\Acontext\["x"\] is a Object, which is not JSON/, error.message)
  end

  def test_a_malformed_completion_is_refused_with_a_clear_error
    error = assert_raises(TaskerCore::ConversionError) { worker.native.complete("nope", {}) }
    assert_equal 'event_id "nope" is not a UUID', error.message
    error = assert_raises(TaskerCore::CompletionError) do
      id = "00000000-0000-4000-8000-000000000000"
      worker.native.complete(id, { event_id: id, task_uuid: id, step_uuid: id, success: true })
    end
    assert_match(/no step is in flight for event/, error.message)
  end
end
