# frozen_string_literal: true

module TaskerCore
  # A connection to the task database that distributed workers serve: submit tasks to the
  # PostgreSQL queues and read them back, from any process.
  #
  # Connects when made and checks that the database is migrated, so a wrong URL fails here,
  # not at the first submit. Safe to share between threads; after +fork+ the child makes its
  # own connections on first use.
  #
  # @example
  #   client = TaskerCore::Client.new(database_url: ENV.fetch("DATABASE_URL"))
  #   task = client.submit_task("workflow.yaml", context: { even_number: 2 })
  #   client.wait_task(task[:task_uuid], timeout: 30).step_results
  class Client
    # @param database_url [String, nil] a libpq URL; nil reads TASKER_DATABASE_URL, then
    #   DATABASE_URL
    # @raise [ConfigurationError] when no database is configured or the URL is invalid
    # @raise [DatabaseError] when the database cannot be reached or is not migrated (run
    #   +tasker-worker-rust migrate+)
    def initialize(database_url: nil)
      raise TypeError, "database_url must be a String or nil, got #{database_url.class}" unless database_url.nil? || database_url.is_a?(String)

      @native = Native::Client.connect(database_url)
    end

    # @return [String] the database's URL, its password replaced by +***+
    def database_url
      @native.database_url
    end

    # Submits a task: its first steps go to their queues at once, in one transaction with
    # the task, under the task's root span, which every step's span joins.
    #
    # @param template [String, Hash] a YAML/JSON file path, or the template as a Hash
    # @param context [Hash] the task's input (JSON-compatible)
    # @return [Hash{Symbol=>String}] +{task_uuid:, correlation_id:, trace_id:}+
    # @raise [TemplateError] for an invalid template
    # @raise [DatabaseError] when a step's queue is one no worker serves and nobody declared
    def submit_task(template, context: {})
      raise ConversionError, "context must be a Hash (a JSON object), got #{context.class}" unless context.nil? || context.is_a?(Hash)

      @native.submit(template, context || {})
    end

    # @param task_uuid [String]
    # @return [TaskResult] the task's result so far; +status+ is "running" until it ends
    # @raise [DatabaseError] for a task this database does not hold
    def task_status(task_uuid)
      TaskResult.from_native(@native.status(task_uuid.to_s))
    end

    # Waits, with the GVL released, until the task ends.
    #
    # @param task_uuid [String]
    # @param timeout [Numeric, nil] seconds to wait; nil waits as long as it takes
    # @return [TaskResult]
    # @raise [TaskTimeoutError] when the task is still running after +timeout+
    def wait_task(task_uuid, timeout: 30)
      raise TypeError, "timeout must be a number of seconds or nil, got #{timeout.class}" unless timeout.nil? || timeout.is_a?(Numeric)

      TaskResult.from_native(@native.wait(task_uuid.to_s, timeout&.to_f))
    end

    # @return [String]
    def inspect
      "#<TaskerCore::Client #{database_url}>"
    end
  end
end
