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
end
