# frozen_string_literal: true

require_relative "test_helper"

# After fork, the child re-initialises telemetry and exports its own spans.
class ForkTest < Minitest::Test
  COLLECTOR = Collector.new

  def test_a_forked_child_bootstraps_its_own_worker_and_exports_its_own_spans
    TaskerCore.register_handler("square", Square)
    telemetry = { enabled: true, endpoint: COLLECTOR.http_endpoint }
    parent = TaskerCore.bootstrap_worker(concurrency: 1, telemetry: telemetry)
    linear = File.join(TEMPLATES, "linear_workflow.yaml")
    parent_result = parent.run_task(linear, context: { even_number: 2 })

    reader, writer = IO.pipe
    pid = fork do
      reader.close
      error = begin
        parent.run_task(linear)
        "none"
      rescue TaskerCore::ForkedWorkerError => e
        e.class.name
      end
      child = TaskerCore.bootstrap_worker(concurrency: 1, telemetry: telemetry)
      r = child.run_task(linear, context: { even_number: 4 })
      child.stop
      writer.puts([error, r.status, r.trace_id, Process.pid].join(" "))
      writer.close
      exit!(0)
    end
    writer.close
    Process.wait(pid)
    assert $?.success?
    error, status, child_trace, child_pid = reader.read.split
    assert_equal "TaskerCore::ForkedWorkerError", error
    assert_equal "complete", status
    refute_equal parent_result.trace_id, child_trace

    parent.stop
    spans = COLLECTOR.wait_for { |s| s.any? { |x| x.trace_id == child_trace } && s.any? { |x| x.trace_id == parent_result.trace_id } }
    child_spans = spans.select { |s| s.trace_id == child_trace }
    assert_equal 9, child_spans.size, spans.map(&:name).inspect
    assert_equal child_pid, child_spans.first.resource["process.pid"]
    assert_equal Process.pid.to_s, spans.find { |s| s.trace_id == parent_result.trace_id }.resource["process.pid"]
  end

  def test_after_fork_parent_and_child_never_share_ids_and_the_child_keeps_its_own_service_name
    TaskerCore.register_handler("square", Square)
    linear = File.join(TEMPLATES, "linear_workflow.yaml")
    parent = TaskerCore.bootstrap_worker(concurrency: 1, telemetry: { enabled: true, endpoint: COLLECTOR.http_endpoint,
                                                                      service_name: "fork-parent" })
    parent.run_task(linear, context: { even_number: 2 }) # seeds the id generators before the fork
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      child = TaskerCore.bootstrap_worker(concurrency: 1, telemetry: { enabled: true, endpoint: COLLECTOR.http_endpoint,
                                                                       service_name: "fork-child" })
      r = child.run_task(linear, context: { even_number: 4 })
      child.stop
      writer.puts([r.trace_id, r.task_uuid].join(" "))
      writer.close
      exit!(0)
    end
    writer.close
    parent_result = parent.run_task(linear, context: { even_number: 2 })
    Process.wait(pid)
    assert $?.success?
    child_trace, child_task = reader.read.split
    parent.stop
    refute_equal parent_result.trace_id, child_trace
    refute_equal parent_result.task_uuid, child_task

    traces = [child_trace, parent_result.trace_id]
    spans = COLLECTOR.wait_for { |s| s.count { |x| traces.include?(x.trace_id) } >= 18 }
    child_spans = spans.select { |s| s.trace_id == child_trace }
    parent_spans = spans.select { |s| s.trace_id == parent_result.trace_id }
    assert_equal [9, 9], [child_spans.size, parent_spans.size]
    assert_empty child_spans.map(&:span_id) & parent_spans.map(&:span_id)
    assert_equal ["fork-child"], child_spans.map { |s| s.resource["service.name"] }.uniq
    assert_equal ["fork-parent"], parent_spans.map { |s| s.resource["service.name"] }.uniq
  end
end
