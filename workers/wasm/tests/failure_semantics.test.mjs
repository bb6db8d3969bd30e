// A collector that never answers, and a handler that hands back ids from another trace:
// spans are counted when lost, never stall steps, and the task stays one trace.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { spawnSync } from "node:child_process";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { startCollector } from "./support/collector.mjs";
import { LINEAR, square, template } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

// Accepts connections and never answers.
async function silentCollector() {
  const sockets = [];
  const server = createServer((s) => { sockets.push(s); s.on("error", () => {}); });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

registerHandler("square", square);
registerHandler("noop", () => 1);

test("a collector that never answers costs spans, counted, never steps, and stop is bounded", async () => {
  const silent = await silentCollector();
  process.env.OTEL_EXPORTER_OTLP_TIMEOUT = "1000";
  try {
    const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: silent.endpoint } });
    const steps = Array.from({ length: 100 }, (_, i) => ({ name: `s${i}`, handler: "noop" }));
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      const r = await worker.runTask(template("many", steps), {});
      assert.equal(r.status, "complete");
    }
    // Liveness, not speed: with sends stalled on the silent collector, each task used to wait
    // for it (2.3 s a task after ~5,000 steps, minutes in all).
    assert.ok(Date.now() - started < 60000, `100 tasks took ${Date.now() - started} ms`);
    const stopping = Date.now();
    // Every span is accounted for: sent and timed out, dropped from a full buffer, or
    // still waiting when stop's bound passed (100
    // tasks of 100 steps: a root and two spans a step each).
    await assert.rejects(worker.stop({ strict: true }), (e) => {
      assert.equal(e.code, "TELEMETRY");
      const failed = Number(/(\d+) span\(s\) in \d+ batch\(es\) could not be exported: /.exec(e.message)?.[1] ?? 0);
      const dropped = Number(/(\d+) span\(s\) dropped while the collector was backed up/.exec(e.message)?.[1] ?? 0);
      assert.match(e.message, /aborted due to timeout|timed out after 1000 ms/);
      const waiting = Number(/(\d+) span\(s\) are still waiting/.exec(e.message)?.[1] ?? 0);
      assert.equal(failed + dropped + waiting, 100 * 201, e.message);
      return true;
    });
    assert.ok(Date.now() - stopping < 15000, "stop is bounded");
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_TIMEOUT;
    silent.close();
  }
});

test("a strict stop gives up after 5 s on a collector that never answers and says how many spans waited", async () => {
  const silent = await silentCollector();
  try {
    const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: silent.endpoint } });
    await worker.runTask(LINEAR, { even_number: 2 });
    const stopping = Date.now();
    await assert.rejects(worker.stop({ strict: true }), (e) => e.code === "TELEMETRY" &&
      e.message === "shutting telemetry down failed: timed out after 5000 ms; 9 span(s) are still waiting for the collector");
    assert.ok(Date.now() - stopping < 15000, "stop is bounded");
  } finally {
    silent.close();
  }
});

test("a completion carrying ids of another trace stays in the task's trace, linked to the foreign span", async () => {
  const FOREIGN_TRACE = "0af7651916cd43dd8448eb211c80319c";
  const FOREIGN_SPAN = "b7ad6b7169203331";
  registerHandler("foreign", (ctx) => { ctx.traceId = FOREIGN_TRACE; ctx.spanId = FOREIGN_SPAN; return 1; });
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: collector.httpEndpoint } });
  const result = await worker.runTask(template("foreign", [{ name: "f", handler: "foreign" }]), {});
  await worker.stop();
  const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 3);
  const exec = spans.find((s) => s.traceId === result.traceId && s.name === "worker.step_execution");
  const completion = spans.find((s) => s.name === "worker.step_completion_received" && s.links.some((l) => l.spanId === exec.spanId));
  assert.ok(completion, JSON.stringify(spans));
  assert.equal(completion.traceId, result.traceId);
  assert.equal(completion.parentId, exec.spanId);
  assert.ok(completion.links.some((l) => l.traceId === FOREIGN_TRACE && l.spanId === FOREIGN_SPAN), JSON.stringify(completion.links));
});
