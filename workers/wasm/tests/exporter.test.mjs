// The exporter: OTLP/JSON to a callback or by fetch, and what stop reports when it fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { LINEAR, square } from "./support/templates.mjs";

test("an exporter callback receives OTLP/JSON batches instead of fetch", async () => {
  const batches = [];
  registerHandler("square", square);
  const worker = await bootstrapWorker({ telemetry: { exporter: (batch) => { batches.push(batch); } } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  await worker.stop();
  const spans = batches.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  const mine = spans.filter((s) => s.traceId === result.traceId);
  assert.equal(mine.length, 9);
  assert.deepEqual(new Set(mine.map((s) => s.name)), new Set(["worker.task_execution", "worker.step_execution", "worker.step_completion_received"]));
});

test("a collector that refuses the batch is reported by stop", async () => {
  registerHandler("square", square);
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: "http://127.0.0.1:9" } });
  await worker.runTask(LINEAR, { even_number: 2 });
  await assert.rejects(worker.stop(), (e) => e.code === "TELEMETRY" && /could not be exported/.test(e.message));
});
