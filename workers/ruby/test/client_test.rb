# frozen_string_literal: true

require_relative "test_helper"

# TaskerCore::Client and Worker#serve refuse what cannot work, with the cure in the message and
# never a password. (Submitting, waiting and serving against a real PostgreSQL are
# tests/polyglot.rs, which runs this gem's worker beside Python's and Rust's.)
class ClientTest < Minitest::Test
  def test_a_client_without_a_database_url_says_which_settings_it_reads
    saved = ENV.to_h.slice("DATABASE_URL", "TASKER_DATABASE_URL")
    ENV.delete("DATABASE_URL")
    ENV.delete("TASKER_DATABASE_URL")
    error = assert_raises(TaskerCore::ConfigurationError) { TaskerCore::Client.new }
    assert_equal "invalid worker configuration: no database configured: pass database_url, or set " \
                 "TASKER_DATABASE_URL or DATABASE_URL (e.g. postgres://tasker@localhost:5432/tasker)", error.message
  ensure
    saved&.each { |k, v| ENV[k] = v }
  end

  def test_an_unreachable_database_is_a_database_error_without_the_password
    error = assert_raises(TaskerCore::DatabaseError) do
      TaskerCore::Client.new(database_url: "postgres://tasker:s3cr3t@127.0.0.1:1/tasker")
    end
    assert error.message.start_with?("cannot reach the database at postgres://tasker:***@127.0.0.1:1/tasker: "), error.message
    refute_includes error.message, "s3cr3t"
    assert_kind_of TaskerCore::Error, error
  end

  def test_bad_arguments_are_type_errors
    error = assert_raises(TypeError) { TaskerCore::Client.new(database_url: 5) }
    assert_equal "database_url must be a String or nil, got Integer", error.message
  end

  def test_serving_a_worker_bootstrapped_without_queues_says_what_is_missing
    worker = TaskerCore.bootstrap_worker(concurrency: 1)
    error = assert_raises(TaskerCore::ConfigurationError) { worker.serve }
    assert_equal "invalid worker configuration: serve needs at least one queue: bootstrap the worker with queues",
                 error.message
  ensure
    worker&.stop
  end
end
