// bootstrapWorker: options checked on every call, one running worker, stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { LINEAR, square, sumDependencies } from "./support/templates.mjs";

registerHandler("square", async (ctx) => square(ctx));
registerHandler("sum_dependencies", sumDependencies);
const worker = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });

test("a second bootstrap with other options rejects naming what differs, and options are always checked", async () => {
  await assert.rejects(bootstrapWorker({ concurrency: 8, handlerTimeoutMs: 10000 }), (e) => e.code === "CONFIGURATION" &&
    e.message === "a worker is already running with a different configuration (concurrency: running 4, asked 8); stop it first, or bootstrap with the same options");
  await assert.rejects(bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000, concurency: 3 }), (e) => e.code === "CONFIGURATION" &&
    e.message === 'unknown worker option "concurency" (known: concurrency, handlerTimeoutMs, telemetry, openTelemetry)');
  await assert.rejects(bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000, telemetry: { servicename: "x" } }),
    (e) => e.code === "CONFIGURATION" && /^unknown telemetry option "servicename"/.test(e.message));
  await assert.rejects(bootstrapWorker([]), (e) => e.code === "CONFIGURATION" && e.message === "worker must be an object, got an array");
  assert.equal(await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 }) !== null, true);
});

test("a second bootstrap returns the running worker, and calls after stop reject", async () => {
  const other = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });
  assert.equal(other.stopped, false);
  await other.stop();
  assert.equal(worker.stopped, true, "both handles are the same worker");
  await assert.rejects(worker.runTask(LINEAR, { even_number: 2 }), (e) => e.code === "WORKER_STOPPED");
  const fresh = await bootstrapWorker({});
  assert.equal((await fresh.runTask(LINEAR, { even_number: 2 })).status, "complete");
  await fresh.stop();
});
