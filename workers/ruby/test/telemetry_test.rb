# frozen_string_literal: true

require_relative "test_helper"

# Trace round trip, checked at a real collector.
class TelemetryTest < Minitest::Test
  COLLECTOR = Collector.new

  def test_each_handler_sees_the_trace_of_its_exported_execution_span_and_completions_link_back
    seen = Queue.new
    TaskerCore.register_handler("square") do |ctx|
      seen << ctx.to_h
      Square.new.call(ctx)
    end
    worker = TaskerCore.bootstrap_worker(
      concurrency: 2,
      telemetry: { enabled: true, endpoint: COLLECTOR.http_endpoint, service_name: "tasker-ruby-worker" }
    )
    result = worker.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 })
    assert result.complete?
    worker.stop # flushes

    spans = COLLECTOR.wait_for { |s| s.count { |x| x.name == "worker.step_completion_received" } >= 4 }
    mine = spans.select { |s| s.trace_id == result.trace_id }
    execs = mine.select { |s| s.name == "worker.step_execution" }
    completions = mine.select { |s| s.name == "worker.step_completion_received" }
    assert_equal 4, execs.size, spans.inspect
    assert_equal 4, completions.size
    assert_equal "tasker-ruby-worker", execs.first.resource["service.name"]

    contexts = Array.new(seen.size) { seen.pop }
    assert_equal 4, contexts.size
    contexts.each do |ctx|
      exec = execs.find { |e| e.span_id == ctx[:span_id] }
      refute_nil exec, "no exported execution span #{ctx[:span_id]} for #{ctx[:step_name]}"
      assert_equal exec.trace_id, ctx[:trace_id]
      assert_equal ctx[:step_name], exec.attr("step_name")
      %w[correlation_id task_uuid step_uuid step_name namespace].each { |a| refute_nil exec.attr(a), a }
      assert_equal "00-#{ctx[:trace_id]}-#{ctx[:span_id]}-01", ctx[:traceparent]
    end
    completions.each do |c|
      link = c.links.first
      exec = execs.find { |e| e.span_id == link[:span_id] }
      refute_nil exec, "completion #{c.span_id} links to no execution span"
      assert_equal exec.span_id, c.parent_id
      assert c.event?("step.ruby_execution_completed"), c.inspect
    end
  end
end
