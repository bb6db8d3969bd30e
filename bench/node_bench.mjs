// Node side of `make bench`: prints one JSON object of measurements, using the installed
// tarball. Modes: run, startup, leak, ffi_floor, otel_sdk and otel_sdk_export
// (@opentelemetry/sdk-trace-base), interop (issue #17's handler spans), and telemetry_ab
// (telemetry off, on, and one SDK span a step instead, alternating in one process).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const [mode, ...rest] = process.argv.slice(2);
const opt = { endpoint: null, concurrency: 1, samples: 2000, steps: 5000 };
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, "")] = rest[i + 1];
for (const k of ["concurrency", "samples", "steps"]) opt[k] = Number(opt[k]);

const rssKb = () => Number(readFileSync("/proc/self/status", "utf8").match(/VmRSS:\s+(\d+)/)[1]);
const now = () => performance.now();
const pct = (s, p) => { const a = [...s].sort((x, y) => x - y); return a[Math.min(a.length - 1, Math.round((p / 100) * (a.length - 1)))]; };
const oneStep = { namespace: "bench", name: "one", steps: [{ name: "s", handler: "noop" }] };
const manySteps = (n) => ({ namespace: "bench", name: "many", steps: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, handler: "noop" })) });
const telemetry = () => (opt.endpoint ? { enabled: true, endpoint: opt.endpoint, serviceName: "bench-node" } : { enabled: false });
// This project has @opentelemetry/api (for the SDK baselines): the worker's own figures are
// taken as an application without it would see them, with the interop off.
const bootstrap = (t, more = {}) => t.bootstrapWorker({ concurrency: opt.concurrency, telemetry: telemetry(), openTelemetry: false, ...more });

async function run() {
  const t = require("tasker-core-wasm");
  t.registerHandler("noop", () => null);
  const w = await bootstrap(t);
  for (let i = 0; i < Math.min(200, opt.samples); i++) await w.runTask(oneStep, {});
  const samples = [];
  for (let i = 0; i < opt.samples; i++) {
    const s = now();
    await w.runTask(oneStep, {});
    samples.push((now() - s) * 1000);
  }
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const s = now();
    const res = await w.runTask(manySteps(opt.steps), {});
    if (res.status !== "complete") throw new Error("incomplete");
    best = Math.max(best, opt.steps / ((now() - s) / 1000));
  }
  await stopQuietly(w);
  return { p50_us: pct(samples, 50), p99_us: pct(samples, 99), mean_us: samples.reduce((a, b) => a + b, 0) / samples.length, throughput_steps_per_s: best };
}

async function startup() {
  const rss0 = rssKb();
  const t0 = now();
  const t = require("tasker-core-wasm");
  const t1 = now();
  const rss1 = rssKb();
  const w = await bootstrap(t, { concurrency: 1 });
  const t2 = now();
  const rss2 = rssKb();
  await stopQuietly(w);
  return { phase1_ms: t1 - t0, bootstrap_ms: t2 - t1, rss_before_kb: rss0, rss_after_phase1_kb: rss1, rss_after_bootstrap_kb: rss2 };
}

// RSS growth over `steps` steps, measured once the process is warm. V8 sizes its heap to the
// allocation rate over the first tens of thousands of steps (its young generation's two
// semi-spaces grow to 16 MiB each, and a full GC does not give them back): that growth is
// reported apart, as warmup_growth_kb, so that rss_growth_kb is what the worker keeps.
async function leak() {
  const t = require("tasker-core-wasm");
  t.registerHandler("noop", () => null);
  const w = await bootstrap(t);
  const batch = manySteps(1000);
  await w.runTask(batch, {});
  globalThis.gc?.();
  const cold = rssKb();
  const warmup = Math.max(1, Math.min(50, Math.floor(opt.steps / 2000)));
  for (let i = 0; i < warmup; i++) await w.runTask(batch, {});
  globalThis.gc?.();
  const base = rssKb();
  const rounds = Math.max(1, Math.floor(opt.steps / 1000));
  const cpu = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await w.runTask(batch, {});
  await stopQuietly(w);
  const used = process.cpuUsage(cpu);
  globalThis.gc?.();
  const grown = rssKb() - base;
  return { steps: rounds * 1000, warmup_steps: (warmup + 1) * 1000, warmup_growth_kb: base - cold,
           rss_growth_kb: grown, rss_kb: base + grown,
           // Every thread's CPU (V8's GC helpers, libuv's pool) over the steps and the final flush.
           cpu_us_per_step: (used.user + used.system) / (rounds * 1000) };
}

async function ffi_floor() {
  const t = require("tasker-core-wasm");
  const w = await t.bootstrapWorker({ concurrency: 1 });
  const n = opt.samples * 100;
  for (let i = 0; i < 1000; i++) void w.stopped;
  const s = now();
  for (let i = 0; i < n; i++) void w.stopped;
  const call_us = ((now() - s) * 1000) / n;
  // The other direction: Rust calling a no-op function, as it calls a step's handler.
  const noop = () => undefined;
  t.ffiFloor(noop, 1000);
  const s2 = now();
  t.ffiFloor(noop, n);
  return { call_us, callback_us: ((now() - s2) * 1000) / n };
}

async function otel_sdk() {
  const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
  const exporter = new OTLPTraceExporter({ url: `${opt.endpoint}/v1/traces` });
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer("bench");
  const handler = (i) => { const span = tracer.startSpan("handler", { attributes: { step: i } }); span.end(); };
  const n = opt.samples * 10;
  for (let i = 0; i < 1000; i++) handler(i);
  const s = now();
  for (let i = 0; i < n; i++) handler(i);
  const perSpan = ((now() - s) * 1000) / n;
  await provider.shutdown();
  return { span_us: perSpan };
}

// The SDK's spans when they are exported, not only queued: `steps` spans, one attribute
// each, yielding to the event loop every 100 spans so its batch processor can send; CPU of
// every thread over the spans and the final flush, and how many the collector accepted.
async function otel_sdk_export() {
  const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
  const exporter = new OTLPTraceExporter({ url: `${opt.endpoint}/v1/traces` });
  let exported = 0;
  const send = exporter.export.bind(exporter);
  exporter.export = (spans, done) => send(spans, (r) => { if (r.code === 0) exported += spans.length; done(r); });
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer("bench");
  const cpu = process.cpuUsage();
  for (let i = 0; i < opt.steps; i++) {
    tracer.startSpan("handler", { attributes: { step: i } }).end();
    if (i % 100 === 99) await new Promise(setImmediate);
  }
  await provider.shutdown();
  const used = process.cpuUsage(cpu);
  return { spans: opt.steps, exported, cpu_us_per_span: (used.user + used.system) / opt.steps };
}

// Issue #17's interop: what a step costs more when the application has an SDK registered
// (a batch processor exporting to the same collector, and a context manager), so that each
// handler runs in a `tasker.handler` span. One process, with the interop off and on in
// alternating blocks (bootstrapWorker's openTelemetry option), so that drift cancels out.
async function interop() {
  const api = require("@opentelemetry/api");
  const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
  const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opt.endpoint}/v1/traces` }))],
  });
  api.trace.setGlobalTracerProvider(provider);
  const t = require("tasker-core-wasm");
  t.registerHandler("noop", () => null);
  const w = await bootstrap(t, { openTelemetry: api });
  for (let i = 0; i < 400; i++) await w.runTask(oneStep, {});
  const blocks = { off: [], on: [] };
  const per = Math.max(10, Math.floor(opt.samples / 10));
  for (let r = 0; r < 10; r++) {
    for (const [k, o] of [["off", false], ["on", api]]) {
      await bootstrap(t, { openTelemetry: o });
      for (let i = 0; i < per; i++) {
        const s = now();
        await w.runTask(oneStep, {});
        blocks[k].push((now() - s) * 1000);
      }
      await new Promise(setImmediate); // the SDK's batch processor sends between blocks
    }
  }
  await stopQuietly(w);
  await provider.shutdown();
  const off = pct(blocks.off, 50), on = pct(blocks.on, 50);
  return { p50_off_us: off, p50_on_us: on, cost_us: on - off };
}

// Telemetry's cost per step beside one span of Node's SDK, measured alike and with drift
// cancelled: one process, three kinds of block in turn, each a new worker running
// single-step tasks, the median of each block kept:
//   off: telemetry off, a no-op handler;
//   on:  the worker's telemetry on (three spans, five events, exported to the collector);
//   sdk: telemetry off, and the handler makes one span of @opentelemetry/sdk-trace-base (one
//        attribute, a batch processor exporting to the same collector), as an application
//        would for each step instead.
// A cost is the median, over the rounds, of a block's median minus its round's off block.
// Separate processes' medians (`run`) differ by several µs between runs here, as much as the
// costs themselves.
async function telemetry_ab() {
  const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opt.endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer("bench");
  const t = require("tasker-core-wasm");
  let sdkSpan = false, n = 0;
  t.registerHandler("noop", () => {
    if (sdkSpan) tracer.startSpan("handler", { attributes: { step: n++ } }).end();
    return null;
  });
  const kinds = ["off", "on", "sdk"];
  const blocks = { off: [], on: [], sdk: [] };
  const rounds = 16;
  const per = Math.max(50, Math.floor(opt.samples / 5));
  const block = async (kind) => {
    sdkSpan = kind === "sdk";
    const w = await t.bootstrapWorker({ concurrency: 1, telemetry: kind === "on" ? telemetry() : { enabled: false }, openTelemetry: false });
    for (let i = 0; i < 50; i++) await w.runTask(oneStep, {});
    const samples = [];
    for (let i = 0; i < per; i++) {
      const s = now();
      await w.runTask(oneStep, {});
      samples.push((now() - s) * 1000);
    }
    await stopQuietly(w);
    return pct(samples, 50);
  };
  for (const kind of kinds) await block(kind); // warm-up
  // Each round runs the three kinds, in an order that turns from round to round; a cost is
  // the median over the rounds of a kind's block minus the same round's off block.
  const cost = { on: [], sdk: [] };
  for (let r = 0; r < rounds; r++) {
    const got = {};
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length];
      got[kind] = await block(kind);
      blocks[kind].push(got[kind]);
    }
    cost.on.push(got.on - got.off);
    cost.sdk.push(got.sdk - got.off);
  }
  await provider.shutdown();
  return { p50_off_us: pct(blocks.off, 50), p50_on_us: pct(blocks.on, 50), p50_sdk_us: pct(blocks.sdk, 50),
           cost_us: pct(cost.on, 50), sdk_span_us: pct(cost.sdk, 50), rounds, steps_per_block: per };
}

// A worker whose collector fell behind still reports its figures, and says so.
let exportError = null;
const stopQuietly = async (w) => { try { await w.stop({ strict: true }); } catch (e) { exportError = e.message; } };
const fns = { run, startup, leak, ffi_floor, otel_sdk, otel_sdk_export, interop, telemetry_ab };
const out = await fns[mode]();
if (exportError) out.export_error = exportError;
console.log("BENCH " + JSON.stringify({ ...out, language: "node", mode, telemetry: !!opt.endpoint, concurrency: opt.concurrency }));
process.exit(0);
