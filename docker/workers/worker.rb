# frozen_string_literal: true

# The Ruby worker of docker-compose.test.yml: serves the `doubled` step of the
# three-language example task (workers/rust/templates/three_languages.yaml) on its queue.
#
# Everything else comes from the environment the compose file sets: DATABASE_URL,
# TELEMETRY_ENABLED and OTEL_* (telemetry), TASKER_WEB_BIND_ADDRESS (/health and /metrics).
#   ruby worker.rb [QUEUE]   (default: ruby_q)
require "tasker_core"

# The task's number, doubled.
class Double < TaskerCore::StepHandler::Base
  def call(context)
    success(result: context.input.fetch("n") * 2)
  end
end

TaskerCore.register_handler("ruby_double", Double)
queue = ARGV.fetch(0, "ruby_q")
concurrency = Integer(ENV.fetch("TASKER_CONCURRENCY", "4"))
worker = TaskerCore.bootstrap_worker(queues: [queue], concurrency: concurrency)
# Blocks, with the GVL released, until SIGINT/SIGTERM (`docker compose stop`), then drains.
report = worker.serve
puts report.to_h.map { |k, v| "#{k}=#{v}" }.join(" ")
