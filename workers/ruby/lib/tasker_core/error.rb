# frozen_string_literal: true

module TaskerCore
  # Every error tasker-core raises. The Rust core's errors arrive as these subclasses.
  class Error < StandardError; end

  # An unknown or invalid option to {TaskerCore.bootstrap_worker}.
  class ConfigurationError < Error; end

  # A template that cannot be read or is invalid: an unknown dependency, a cycle, a
  # duplicate step name, no steps.
  class TemplateError < Error; end

  # A template names a handler nobody registered.
  class UnknownHandlerError < Error; end

  # A malformed trace id, span id or traceparent.
  class TraceContextError < Error; end

  # Telemetry could not be flushed or shut down.
  class TelemetryError < Error; end

  # A value that JSON cannot hold (a handler result, a context, options).
  class ConversionError < Error; end

  # A completion for no step in flight: unknown, already completed, or timed out.
  class CompletionError < Error; end

  # A task did not finish within the caller's timeout.
  class TaskTimeoutError < Error; end

  # The name this class had before 0.1: the same class.
  TimeoutError = TaskTimeoutError

  # The task database could not be reached or used: unreachable, not migrated, an unknown
  # task, a queue nobody serves. The message names the cure and never a password.
  class DatabaseError < Error; end

  # A call after the worker stopped.
  class WorkerStoppedError < Error; end

  # A worker used in a process forked from the one that started it.
  class ForkedWorkerError < WorkerStoppedError; end

  # A bug in tasker-core (a Rust panic becomes this, never a crash).
  class InternalError < Error; end
end
