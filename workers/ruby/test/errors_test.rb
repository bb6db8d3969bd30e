# frozen_string_literal: true

require_relative "test_helper"

# The exception classes and the error_type vocabulary come from the core's one table.
class ErrorsTest < Minitest::Test
  def test_every_core_error_kind_has_its_class
    %w[ConfigurationError TemplateError UnknownHandlerError TraceContextError TelemetryError ConversionError
       CompletionError TaskTimeoutError DatabaseError WorkerStoppedError ForkedWorkerError InternalError].each do |name|
      assert TaskerCore.const_get(name) < TaskerCore::Error, name
    end
    assert_same TaskerCore::TaskTimeoutError, TaskerCore::TimeoutError
  end

  def test_the_error_type_vocabulary_is_the_cores
    assert_equal({ timeout: "timeout", unknown_handler: "unknown_handler", invalid_result: "invalid_result",
                   handler_error: "handler_error", worker_lost: "worker_lost", worker_stopped: "worker_stopped",
                   internal_error: "internal_error" }, TaskerCore::Native::ERROR_TYPES)
    assert_predicate TaskerCore::Native::ERROR_TYPES, :frozen?
  end

  def test_a_step_whose_handler_is_not_registered_in_this_process_fails_as_unknown_handler
    worker = TaskerCore.bootstrap_worker(concurrency: 1)
    # Registered with the Rust worker, but missing from the Ruby registry, as a distributed
    # worker sees a step of a handler it does not have.
    worker.native.register_handler("elsewhere")
    result = worker.run_task({ namespace: "n", name: "t", steps: [{ name: "s", handler: "elsewhere" }] })
    step = result.steps["s"]
    assert_equal %w[failed unknown_handler], [step["status"], step["error_type"]]
    assert_equal 'no Ruby handler registered as "elsewhere"', step["error"]
  ensure
    worker&.stop
  end

  def test_an_extension_loaded_without_its_error_classes_fails_the_require_naming_the_class
    script = <<~RUBY
      module TaskerCore; class Error < StandardError; end; end
      begin
        require "tasker_core.so"
      rescue LoadError => e
        puts e.message
      end
    RUBY
    out = IO.popen([RbConfig.ruby, "-e", script], err: %i[child out], &:read)
    assert_includes out, "TaskerCore::ConfigurationError is not defined: require \"tasker_core\""
  end

  # Making the exception runs Ruby code; a thread being killed meanwhile (Ruby exiting while
  # a handler thread waits on the bridge) answers with a jump, which must end that thread,
  # not abort the process.
  def test_a_thread_killed_while_its_error_is_made_ends_and_the_process_lives
    script = <<~RUBY
      require "tasker_core"
      class TaskerCore::ConfigurationError
        def initialize(*) = Thread.current.kill
      end
      t = Thread.new { TaskerCore::Native::Worker.bootstrap(concurrency: 0) }
      t.join
      puts "thread status \#{t.status.inspect}; the process lives"
    RUBY
    out, err, status = TestSupport.ruby(script)
    assert status.success?, "#{status.inspect}\n#{err}"
    assert_equal "thread status false; the process lives\n", out
  end
end
