# frozen_string_literal: true

require_relative "test_helper"

# A script that never calls stop still exports its spans: at_exit flushes.
class ExitTest < Minitest::Test
  def test_telemetry_is_flushed_at_exit
    collector = Collector.new
    code = <<~RUBY
      require "tasker_core"
      TaskerCore.register_handler("square") { |ctx| (ctx.dependency_results.values.first || ctx.input["even_number"])**2 }
      w = TaskerCore.bootstrap_worker(telemetry: { enabled: true, endpoint: #{collector.http_endpoint.inspect} })
      puts w.run_task(#{File.join(TEMPLATES, "linear_workflow.yaml").inspect}, context: { even_number: 2 }).trace_id
    RUBY
    out, err, status = TestSupport.ruby(code)
    assert status.success?, err
    trace_id = out.strip
    spans = collector.wait_for { |s| s.count { |x| x.trace_id == trace_id } >= 9 }
    assert_equal 9, spans.count { |s| s.trace_id == trace_id }, err
  ensure
    collector&.stop
  end
end
