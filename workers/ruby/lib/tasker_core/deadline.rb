# frozen_string_literal: true

module TaskerCore
  # Handler time limits without a thread per call.
  #
  # Ruby 3.1's +Timeout.timeout+ starts a new thread for every call (about 30 µs, before any
  # contention for the GVL): more than a whole no-op step costs. One watchdog thread per
  # process serves every handler thread instead. A guarded block files its deadline (a hash
  # insert under a mutex); the watchdog sleeps until the earliest deadline and raises
  # +Timeout::Error+ in the thread that passed it. The watchdog is only woken when a new
  # deadline is earlier than every filed one, which with one timeout for all steps is never
  # in steady state.
  #
  # The Rust worker enforces the same limit on its side (it fails the step and refuses a
  # late completion); this guard frees the Ruby thread so it can take the next step.
  module Deadline
    # Raised inside the guarded block; an +Exception+, so a handler's +rescue => e+ does not
    # swallow it.
    class Expired < Exception # rubocop:disable Lint/InheritException
    end

    Entry = Struct.new(:thread, :at, :expired)

    class << self
      # Runs the block; raises +Timeout::Error+ if it runs longer than +seconds+.
      #
      # @param seconds [Numeric] the time limit
      # @return [Object] the block's value
      # @raise [Timeout::Error] when the limit passes first
      def guard(seconds)
        entry = Entry.new(Thread.current, now + seconds, false)
        finished = false
        value = nil
        begin
          Thread.handle_interrupt(Expired => :never) do
            file(entry)
            begin
              value = Thread.handle_interrupt(Expired => :immediate) { yield }
              finished = true
            ensure
              withdraw(entry)
            end
          end
        rescue Expired
          # An expiry that raced the block's own end does not undo its result.
          raise Timeout::Error, "execution expired" unless finished
        end
        value
      end

      # @api private
      # Deadlines filed and not yet withdrawn (for tests).
      def pending
        @mutex.synchronize { @entries.size }
      end

      # @api private
      # Fresh state, at load and after fork (where the watchdog thread is gone; the next
      # guard starts a new one).
      def reset_after_fork
        @mutex = Thread::Mutex.new
        @wake = Thread::ConditionVariable.new
        @entries = {}.compare_by_identity
        @watchdog = nil
        @sleeping_until = Float::INFINITY
      end

      private

      def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

      def file(entry)
        @mutex.synchronize do
          @entries[entry] = true
          start_watchdog unless @watchdog&.alive?
          @wake.signal if entry.at < @sleeping_until
        end
      end

      def withdraw(entry)
        @mutex.synchronize { @entries.delete(entry) }
      end

      def start_watchdog
        @watchdog = Thread.new do
          Thread.current.name = "tasker-deadline"
          Thread.current.report_on_exception = false
          @mutex.synchronize { watch }
        end
      end

      # Runs with the mutex held; ConditionVariable#wait releases it while sleeping.
      #
      # A withdrawn deadline does not wake the watchdog: it wakes at the time it chose, finds
      # nothing due, and sleeps again until the earliest filed deadline. So new deadlines that
      # are later than that time (every one, when all steps share a timeout) cost no wake-up.
      def watch
        loop do
          t = now
          @sleeping_until = Float::INFINITY if @sleeping_until <= t
          due = @entries.each_key.reject(&:expired).min_by(&:at)
          if due && due.at <= t
            due.expired = true
            due.thread.raise(Expired) if due.thread.alive?
            next
          end
          @sleeping_until = due.at if due && due.at < @sleeping_until
          if @sleeping_until == Float::INFINITY
            @wake.wait(@mutex)
          else
            @wake.wait(@mutex, @sleeping_until - t)
          end
        end
      end
    end

    reset_after_fork
  end
end
