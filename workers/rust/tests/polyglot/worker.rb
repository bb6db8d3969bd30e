# frozen_string_literal: true

# A Ruby process serving one queue of the polyglot tests, as a user would write it.
#   ruby worker.rb QUEUE [fork|stop]
# `fork`: bootstrap here, then serve from a forked child (a pre-forking server's shape).
# `stop`: another thread calls worker.stop once a step has run.
require "tasker_core"

# The task's number, doubled; sleeps first for the context's `ruby_sleep_ms`, and writes
# "step_name trace_id span_id" of its context to the file named by TASKER_STARTED_FILE once
# it has started.
class Double < TaskerCore::StepHandler::Base
  RAN = Queue.new

  def call(context)
    if ENV["TASKER_STARTED_FILE"]
      File.write(ENV["TASKER_STARTED_FILE"], [context.step_name, context.trace_id, context.span_id].join(" "))
    end
    sleep(context.input.fetch("ruby_sleep_ms", 0) / 1000.0)
    RAN << true
    success(result: context.input.fetch("n") * 2,
            metadata: { trace_id: context.trace_id, span_id: context.span_id })
  end
end

TaskerCore.register_handler("ruby_double", Double)
queue, mode = ARGV
worker = TaskerCore.bootstrap_worker(queues: [queue], concurrency: 2,
                                     telemetry: { service_name: "polyglot-ruby" })
if mode == "fork"
  pid = fork { worker.serve }
  %w[INT TERM].each { |sig| trap(sig) { Process.kill(sig, pid) } }
  Process.wait(pid)
  exit($?.exitstatus || 1)
else
  Thread.new { Double::RAN.pop && sleep(0.2) && worker.stop } if mode == "stop"
  report = worker.serve
  puts report.to_h.to_a.map { |k, v| "#{k}=#{v}" }.join(" ")
end
