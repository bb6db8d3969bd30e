# frozen_string_literal: true

# Submits a task through TaskerCore::Client and waits for it, as a user would:
#   ruby submit.rb TEMPLATE CONTEXT_JSON
# Prints the submitted task's ids (a JSON line), then its result (a JSON line).
require "json"
require "tasker_core"

client = TaskerCore::Client.new(database_url: ENV.fetch("DATABASE_URL"))
task = client.submit_task(ARGV.fetch(0), context: JSON.parse(ARGV.fetch(1)))
puts JSON.generate(task)
$stdout.flush
result = client.wait_task(task[:task_uuid], timeout: 60)
again = client.task_status(task[:task_uuid])
puts JSON.generate(result.to_h.merge(status_again: again.status))
