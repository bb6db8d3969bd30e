# frozen_string_literal: true

module TaskerCore
  # Ruby 3.1+ routes every fork (Kernel#fork, Process.fork, Process.daemon) through
  # Process._fork. In the child, the parent's worker threads and telemetry exporter do not
  # exist: telemetry is re-initialised, and the parent's worker refuses further calls.
  module ForkHook
    def _fork
      pid = super
      TaskerCore.after_fork_in_child if pid.zero?
      pid
    end
  end
end

Process.singleton_class.prepend(TaskerCore::ForkHook) if Process.respond_to?(:_fork)
