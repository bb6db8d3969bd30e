# frozen_string_literal: true

require_relative "test_helper"

class FfiLoggingTest < Minitest::Test
  def test_console_logging_works_from_require_before_any_bootstrap
    _, err, status = TestSupport.ruby('require "tasker_core"', "TASKER_ENV" => "test", "TELEMETRY_ENABLED" => "false")
    assert status.success?, err
    line = err.lines.find { |l| l.include?("Console-only logging initialized (FFI-safe mode)") }
    refute_nil line, err
    assert_includes line, "environment=test"
    assert_includes line, "opentelemetry_enabled=false"
    assert_includes line, 'context="ffi_initialization"'
    assert_includes err, "FFI console logging initialized (no telemetry)"
  end

  def test_with_telemetry_enabled_require_still_logs_and_says_export_is_deferred
    _, err, status = TestSupport.ruby('require "tasker_core"; TaskerCore::Tracing.info("before bootstrap")',
                                      "TELEMETRY_ENABLED" => "true")
    assert status.success?, err
    assert_includes err, "Console-only logging initialized (FFI-safe mode)"
    assert_includes err, "TAS-65: Telemetry enabled - deferring OpenTelemetry export to runtime context"
    assert_includes err, "before bootstrap"
  end

  def test_a_handlers_log_lines_carry_its_steps_trace_and_span_ids
    code = <<~RUBY
      require "tasker_core"
      TaskerCore.register_handler("logs") do |ctx|
        TaskerCore::Tracing.info("from the handler", step: ctx.step_name)
        TaskerCore.logger.warn { "via logger" }
        $stdout.puts "\#{ctx.trace_id} \#{ctx.span_id}"
        { ok: true }
      end
      w = TaskerCore.bootstrap_worker(concurrency: 1)
      w.run_task({ namespace: "n", name: "t", steps: [{ name: "s", handler: "logs" }] })
      w.stop
    RUBY
    out, err, status = TestSupport.ruby(code)
    assert status.success?, err
    trace_id, span_id = out.split
    assert_match(/\A\h{32}\z/, trace_id)
    line = err.lines.find { |l| l.include?("from the handler") }
    refute_nil line, err
    assert_includes line, "trace_id=#{trace_id}"
    assert_includes line, "span_id=#{span_id}"
    assert_includes line, '"step":"s"'
    warn_line = err.lines.find { |l| l.include?("via logger") }
    assert_includes warn_line, "WARN"
    assert_includes warn_line, "trace_id=#{trace_id}"
  end

  def test_an_unknown_log_level_is_an_argument_error
    error = assert_raises(ArgumentError) { TaskerCore::Native.log("loud", "x", {}) }
    assert_equal 'unknown log level "loud" (use trace, debug, info, warn or error)', error.message
  end
end
