// The task driver on the JS event loop: dependencies, concurrency, timeouts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { LINEAR, DIAMOND, square, sumDependencies, template } from "./support/templates.mjs";

registerHandler("square", async (ctx) => square(ctx));
registerHandler("sum_dependencies", sumDependencies);
const worker = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });

test("linear and diamond complete with dependency results delivered", async () => {
  const linear = await worker.runTask(LINEAR, { even_number: 2 });
  assert.equal(linear.status, "complete");
  assert.deepEqual(linear.stepResults, { linear_step_1: 4, linear_step_2: 16, linear_step_3: 256, linear_step_4: 65536 });
  const diamond = await worker.runTask(DIAMOND, { even_number: 2 });
  assert.equal(diamond.status, "complete");
  assert.deepEqual(diamond.stepResults, { diamond_start: 4, diamond_branch_b: 16, diamond_branch_c: 16, diamond_end: 32 });
  assert.match(diamond.traceId, /^[0-9a-f]{32}$/);
});

test("handlers run as concurrent promises", async () => {
  let arrived = 0;
  let release;
  const all = new Promise((r) => { release = r; });
  registerHandler("meet", async () => {
    arrived += 1;
    if (arrived === 4) release();
    await all; // only resolves once all four are in flight together
    return "met";
  });
  const steps = [0, 1, 2, 3].map((i) => ({ name: `b${i}`, handler: "meet", timeout_ms: 5000 }));
  const result = await worker.runTask(template("fan", steps), {});
  assert.equal(result.status, "complete", JSON.stringify(result.steps));
});

test("a handler past its timeout becomes a failed step", async () => {
  registerHandler("never", () => new Promise(() => {}));
  const result = await worker.runTask(template("slow", [{ name: "s", handler: "never", timeout_ms: 100 }]), {});
  assert.equal(result.steps.s.status, "failed");
  assert.equal(result.steps.s.error_type, "timeout");
});

test("a synchronous handler that blocks past its timeout is recorded as timeout", async () => {
  registerHandler("blocks", () => { const end = Date.now() + 600; while (Date.now() < end); return "late"; });
  const result = await worker.runTask(template("blocking", [{ name: "b", handler: "blocks", timeout_ms: 200, max_attempts: 1 }]), {});
  assert.equal(result.status, "error");
  assert.equal(result.steps.b.error_type, "timeout");
});
