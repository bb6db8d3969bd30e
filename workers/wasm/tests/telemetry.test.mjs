import { test, after } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { startCollector } from "./support/collector.mjs";
import { LINEAR, square } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

test("trace ids match between ctx and the spans the collector received, and completions link back", async () => {
  const seen = [];
  registerHandler("square", async (ctx) => { seen.push({ ...ctx }); return square(ctx); });
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: collector.httpEndpoint, serviceName: "tasker-wasm-worker" } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  assert.equal(result.status, "complete");
  await worker.stop(); // awaits the export

  const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 9);
  const mine = spans.filter((s) => s.traceId === result.traceId);
  const execs = mine.filter((s) => s.name === "worker.step_execution");
  const completions = mine.filter((s) => s.name === "worker.step_completion_received");
  assert.equal(mine.length, 9, JSON.stringify(spans.map((s) => s.name)));
  assert.equal(execs.length, 4);
  assert.equal(execs[0].resource["service.name"], "tasker-wasm-worker");
  assert.equal(seen.length, 4);
  for (const ctx of seen) {
    assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
    assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
    const exec = execs.find((e) => e.spanId === ctx.spanId);
    assert.ok(exec, `no exported execution span ${ctx.spanId}`);
    assert.equal(exec.traceId, ctx.traceId);
    assert.equal(exec.attributes.step_name, ctx.stepName);
    for (const a of ["correlation_id", "task_uuid", "step_uuid", "step_name", "namespace"]) assert.ok(exec.attributes[a], a);
    assert.equal(ctx.traceparent, `00-${ctx.traceId}-${ctx.spanId}-01`);
  }
  for (const c of completions) {
    const exec = execs.find((e) => e.spanId === c.links[0]?.spanId);
    assert.ok(exec, "completion links to an execution span");
    assert.equal(c.parentId, exec.spanId);
    assert.ok(c.events.some((e) => e.name === "step.wasm_execution_completed"));
  }
});

test("each event falls within its span, each span within its parent, and the handler's time within its step", async () => {
  const batches = [];
  registerHandler("square", async (ctx) => { await new Promise((r) => setTimeout(r, 30)); return square(ctx); });
  const worker = await bootstrapWorker({ telemetry: { exporter: (batch) => { batches.push(batch); } } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  await worker.stop();
  const spans = batches.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))
    .filter((s) => s.traceId === result.traceId);
  assert.equal(spans.length, 9);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const s of spans) {
    const [start, end] = [BigInt(s.startTimeUnixNano), BigInt(s.endTimeUnixNano)];
    assert.ok(start <= end, `${s.name} ends before it starts`);
    for (const e of s.events ?? []) {
      const t = BigInt(e.timeUnixNano);
      assert.ok(start <= t && t <= end, `${e.name} at ${t} is outside ${s.name} [${start}, ${end}]`);
    }
    const parent = byId.get(s.parentSpanId);
    if (parent) {
      assert.ok(BigInt(parent.startTimeUnixNano) <= start && end <= BigInt(parent.endTimeUnixNano),
        `${s.name} is outside its parent ${parent.name}`);
    }
  }
  // The clock is read once before each handler and once after it: never across one.
  for (const exec of spans.filter((s) => s.name === "worker.step_execution")) {
    const ms = Number(BigInt(exec.endTimeUnixNano) - BigInt(exec.startTimeUnixNano)) / 1e6;
    assert.ok(ms >= 25, `a step whose handler slept 30 ms lasted ${ms} ms`);
  }
});
