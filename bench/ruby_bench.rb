# frozen_string_literal: true

# Ruby side of `make bench`: prints one JSON object of measurements, using the installed gem.
# Modes: run, startup, native_load, leak, ffi_floor, poller (the spec's 10 ms sleep-poll design).

require "json"
require "optparse"

opts = { endpoint: nil, concurrency: 1, samples: 2000, steps: 5000 }
mode = ARGV.shift
OptionParser.new do |o|
  o.on("--endpoint URL") { |v| opts[:endpoint] = v }
  o.on("--concurrency N", Integer) { |v| opts[:concurrency] = v }
  o.on("--samples N", Integer) { |v| opts[:samples] = v }
  o.on("--steps N", Integer) { |v| opts[:steps] = v }
end.parse!(ARGV)

def rss_kb = File.read("/proc/self/status")[/VmRSS:\s+(\d+)/, 1].to_i
def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
def pct(samples, p)
  s = samples.sort
  s[[s.size - 1, ((p / 100.0) * (s.size - 1)).round].min]
end
def one_step(name = "noop") = { namespace: "bench", name: "one", steps: [{ name: "s", handler: name }] }
def many_steps(n, name = "noop") = { namespace: "bench", name: "many", steps: Array.new(n) { |i| { name: "s#{i}", handler: name } } }
# A worker whose collector fell behind still reports its figures, and says so.
$export_error = nil
def stop_quietly(worker)
  worker.stop(raise_on_telemetry_error: true)
rescue TaskerCore::TelemetryError => e
  $export_error = e.message
end
def telemetry(endpoint) = endpoint ? { enabled: true, endpoint: endpoint, service_name: "bench-ruby" } : { enabled: false }

out =
  case mode
  when "run"
    require "tasker_core"
    TaskerCore.register_handler("noop") { |_ctx| nil }
    w = TaskerCore.bootstrap_worker(concurrency: opts[:concurrency], telemetry: telemetry(opts[:endpoint]))
    [opts[:samples], 200].min.times { w.run_task(one_step) }
    samples = Array.new(opts[:samples]) do
      t = now
      w.run_task(one_step)
      (now - t) * 1e6
    end
    rates = Array.new(3) do
      t = now
      r = w.run_task(many_steps(opts[:steps]), timeout: 600)
      raise "incomplete" unless r.complete?

      opts[:steps] / (now - t)
    end
    stop_quietly(w)
    { p50_us: pct(samples, 50), p99_us: pct(samples, 99), mean_us: samples.sum / samples.size,
      throughput_steps_per_s: rates.max }
  when "startup"
    t0 = now
    rss0 = rss_kb
    require "tasker_core"
    t1 = now
    rss1 = rss_kb
    w = TaskerCore.bootstrap_worker(concurrency: 1, telemetry: telemetry(opts[:endpoint]))
    t2 = now
    rss2 = rss_kb
    stop_quietly(w)
    { phase1_ms: (t1 - t0) * 1e3, bootstrap_ms: (t2 - t1) * 1e3, rss_before_kb: rss0,
      rss_after_phase1_kb: rss1, rss_after_bootstrap_kb: rss2 }
  when "native_load"
    # Only the extension: dlopen plus its init (phase 1 proper), without the Ruby library
    # beyond the exception classes the extension looks up as it loads.
    gem_lib = Gem::Specification.find_by_name("tasker-core").full_require_paths
    so = gem_lib.map { |d| File.join(d, "tasker_core.so") }.find { |f| File.exist?(f) }
    require "tasker_core/version"
    require "tasker_core/error"
    t = now
    require so
    { native_phase1_ms: (now - t) * 1e3 }
  when "leak"
    require "tasker_core"
    TaskerCore.register_handler("noop") { |_ctx| nil }
    w = TaskerCore.bootstrap_worker(concurrency: opts[:concurrency], telemetry: telemetry(opts[:endpoint]))
    batch = many_steps(1000)
    w.run_task(batch, timeout: 600)
    GC.start
    base = rss_kb
    rounds = [opts[:steps] / 1000, 1].max
    rounds.times { w.run_task(batch, timeout: 600) }
    GC.start
    grown = rss_kb - base
    stop_quietly(w)
    { steps: rounds * 1000, rss_growth_kb: grown, rss_kb: base + grown }
  when "ffi_floor"
    require "tasker_core"
    n = opts[:samples] * 100
    1000.times { TaskerCore::Native.telemetry_state }
    t = now
    n.times { TaskerCore::Native.telemetry_state }
    call_us = (now - t) * 1e6 / n
    # The other direction: Rust yielding to a no-op block, as it calls a step's handler.
    TaskerCore::Native.ffi_floor(1000) { nil }
    t = now
    TaskerCore::Native.ffi_floor(n) { nil }
    { call_us: call_us, callback_us: (now - t) * 1e6 / n }
  when "poller"
    require "tasker_core"
    handlers = TaskerCore::HandlerRegistry.new
    handlers.register("noop", ->(_ctx) {})
    native = TaskerCore::Native::Worker.bootstrap({ concurrency: 1, telemetry: { enabled: false } })
    native.register_handler("noop")
    sub = TaskerCore::Subscriber.new(native, handlers)
    poller = Thread.new do
      loop do
        e = native.poll_event
        e ? sub.handle(TaskerCore::EventBridge.wrap_step_execution_event(e)) : sleep(0.010)
      end
    rescue TaskerCore::WorkerStoppedError
      nil
    end
    samples = Array.new([opts[:samples] / 20, 5].max) do
      t = now
      native.run_task(one_step, {}, 30.0)
      (now - t) * 1e6
    end
    native.stop(false)
    poller.join(2)
    { p50_us: pct(samples, 50), p99_us: pct(samples, 99) }
  else
    abort "unknown mode #{mode.inspect}"
  end

out[:export_error] = $export_error if $export_error
$stdout.puts "BENCH #{JSON.generate(out.merge(language: "ruby", mode: mode, telemetry: !opts[:endpoint].nil?, concurrency: opts[:concurrency]))}"
$stdout.flush
exit!(0)
