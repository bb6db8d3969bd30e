// An application with its own OpenTelemetry set-up, as a user writes one. otel.test.mjs
// copies it into a project that has @opentelemetry/* installed and runs it there; it prints
// what its handlers saw as one JSON line on stdout.
//   node otel_app.mjs sdk ENDPOINT   an SDK, a context manager, W3C propagation, undici's instrumentation
//   node otel_app.mjs api ENDPOINT   the API with a context manager and W3C propagation, no SDK
import { createServer } from "node:http";
import * as api from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";

const [mode, endpoint] = process.argv.slice(2);
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager());
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
let provider = null;
if (mode === "sdk") {
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const { registerInstrumentations } = await import("@opentelemetry/instrumentation");
  const { UndiciInstrumentation } = await import("@opentelemetry/instrumentation-undici");
  provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
  });
  api.trace.setGlobalTracerProvider(provider);
  registerInstrumentations({ instrumentations: [new UndiciInstrumentation()] });
}

// A downstream service: what traceparent did the handler's fetch send?
const received = [];
const server = createServer((req, res) => { received.push(req.headers.traceparent ?? null); res.end("ok"); });
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const downstream = `http://127.0.0.1:${server.address().port}/`;

const out = { seen: {}, app: null, carrier: null };
const tracer = api.trace.getTracer("my-app");
registerHandler("own", async (ctx) => {
  out.seen.own = { traceId: ctx.traceId, spanId: ctx.spanId, traceparent: ctx.traceparent };
  return tracer.startActiveSpan("my-app.work", async (span) => {
    await new Promise((r) => setTimeout(r, 1));
    out.carrier = {};
    api.propagation.inject(api.context.active(), out.carrier);
    await (await fetch(downstream)).text();
    out.app = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
    span.end();
    return 1;
  });
});
registerHandler("fails", (ctx) => { out.seen.fails = { spanId: ctx.spanId }; throw new Error("boom"); });
registerHandler("hangs", (ctx) => { out.seen.hangs = { spanId: ctx.spanId }; return new Promise(() => {}); });

const one = (handler, extra = {}) => ({ namespace: "otel", name: handler, steps: [{ name: `${handler}_step`, handler, max_attempts: 1, ...extra }] });
const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint, serviceName: "otel-app" } });
out.results = {};
for (const [name, template] of [["own", one("own")], ["fails", one("fails")], ["hangs", one("hangs", { timeout_ms: 100 })]]) {
  const r = await worker.runTask(template, {});
  out.results[name] = { status: r.status, traceId: r.traceId, errorType: r.steps[`${name}_step`].error_type };
}
await worker.stop();
await provider?.shutdown();
server.close();
out.downstream = received;
process.stdout.write(JSON.stringify(out) + "\n");
