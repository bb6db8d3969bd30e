# frozen_string_literal: true

require_relative "test_helper"

class BootstrapTest < Minitest::Test
  def test_a_second_bootstrap_returns_the_same_worker_and_calls_after_stop_raise
    TaskerCore.register_handler("square", Square)
    first = TaskerCore.bootstrap_worker(concurrency: 2)
    again = TaskerCore.bootstrap_worker(concurrency: 2)
    assert_same first, again
    assert_equal first.worker_id, again.worker_id
    assert_match(/\Aworker-\h{8}\z/, first.worker_id)
    assert_equal first, TaskerCore.worker

    first.stop
    first.stop # idempotent
    assert first.stopped?
    assert_nil TaskerCore.worker
    error = assert_raises(TaskerCore::WorkerStoppedError) do
      first.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 })
    end
    assert_equal "the worker is stopped", error.message
    assert_kind_of TaskerCore::Error, error

    fresh = TaskerCore.bootstrap_worker(concurrency: 1)
    refute_equal first.worker_id, fresh.worker_id
    assert fresh.run_task(File.join(TEMPLATES, "linear_workflow.yaml"), context: { even_number: 2 }).complete?
    fresh.stop
  end

  def test_an_unknown_or_invalid_option_is_a_configuration_error
    error = assert_raises(TaskerCore::ConfigurationError) { TaskerCore.bootstrap_worker(concurency: 2) }
    assert_match(/unknown worker option "concurency"/, error.message)
    error = assert_raises(TaskerCore::ConfigurationError) do
      TaskerCore.bootstrap_worker(telemetry: { protocol: "smoke" })
    end
    assert_equal 'invalid worker configuration: telemetry protocol "smoke" is not http/protobuf, http/json or grpc', error.message
  end

  def test_a_second_bootstrap_with_other_options_raises_naming_each_difference
    first = TaskerCore.bootstrap_worker(concurrency: 2, telemetry: { enabled: false })
    error = assert_raises(TaskerCore::ConfigurationError) do
      TaskerCore.bootstrap_worker(concurrency: 8, handler_timeout: 5, telemetry: { enabled: false })
    end
    assert_equal "invalid worker configuration: a worker is already running (#{first.worker_id}) with a different " \
                 "configuration (concurrency: running 2, asked 8; handler_timeout: running 30s, asked 5s); " \
                 "stop it first, or bootstrap with the same options", error.message
    error = assert_raises(TaskerCore::ConfigurationError) do
      TaskerCore.bootstrap_worker(concurrency: 2, telemetry: { enabled: false, service_name: "other" })
    end
    assert_match(/telemetry service_name differs/, error.message)
    # Options are validated even while a worker runs.
    error = assert_raises(TaskerCore::ConfigurationError) { TaskerCore.bootstrap_worker(concurrency: 2, concurency: 3) }
    assert_match(/unknown worker option "concurency"/, error.message)
    assert_same first, TaskerCore.bootstrap_worker(concurrency: 2, telemetry: { enabled: false })
  ensure
    first&.stop
  end

  def test_the_native_worker_cannot_be_built_by_hand
    error = assert_raises(NoMethodError) { TaskerCore::Native::Worker.new }
    assert_match(/undefined method [`']new' for/, error.message)
    assert_raises(NoMethodError) { TaskerCore::Native::Worker.allocate }
  end

  def test_a_handler_that_is_neither_a_class_nor_callable_is_refused
    error = assert_raises(ArgumentError) { TaskerCore.register_handler("x", 42) }
    assert_match(/must be a StepHandler::Base subclass or respond to call/, error.message)
  end

  def test_health_is_served_only_when_asked
    TaskerCore.register_handler("square", Square)
    worker = TaskerCore.bootstrap_worker(concurrency: 1, web_bind_address: "127.0.0.1:0")
    host, port = worker.web_address.split(":")
    body = Net::HTTP.get(URI("http://#{host}:#{port}/health"))
    assert_equal "healthy", JSON.parse(body)["status"]
    assert_equal worker.worker_id, JSON.parse(body)["worker_id"]
    worker.stop
  end
end

require "net/http"
