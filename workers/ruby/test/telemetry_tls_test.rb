# frozen_string_literal: true

require_relative "test_helper"
require_relative "support/tls_endpoint"

# Spans from the Ruby worker reach a collector behind TLS, trusting the CA given in
# +telemetry: { certificate: }+ (OTEL_EXPORTER_OTLP_CERTIFICATE's key).
class TelemetryTlsTest < Minitest::Test
  COLLECTOR = Collector.new
  TLS = TlsEndpoint.new(COLLECTOR.http_endpoint)

  def test_spans_reach_a_collector_behind_tls_with_a_private_ca
    TaskerCore.register_handler("square", Square)
    worker = TaskerCore.bootstrap_worker(
      telemetry: { enabled: true, traces_endpoint: "#{TLS.url}/v1/traces", certificate: TLS.ca,
                   compression: "gzip", service_name: "tasker-ruby-tls" }
    )
    result = worker.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 })
    assert result.complete?
    worker.stop

    spans = COLLECTOR.wait_for { |s| s.count { |x| x.trace_id == result.trace_id && x.name == "worker.step_execution" } >= 4 }
    execs = spans.select { |s| s.trace_id == result.trace_id && s.name == "worker.step_execution" }
    assert_equal 4, execs.size, COLLECTOR.output
    assert_equal "tasker-ruby-tls", execs.first.resource["service.name"]
  end

  def test_a_bad_compression_option_is_a_configuration_error
    err = assert_raises(TaskerCore::ConfigurationError) do
      TaskerCore.bootstrap_worker(telemetry: { enabled: true, compression: "brotli" })
    end
    assert_equal "invalid worker configuration: telemetry compression \"brotli\" is not gzip or none", err.message
  end
end
