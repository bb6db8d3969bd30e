// The call across the boundary: a handler's value or thrown Error becomes the completion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker, ffiFloor, Worker } from "tasker-core-wasm";
import { square, sumDependencies, template } from "./support/templates.mjs";

registerHandler("square", async (ctx) => square(ctx));
registerHandler("sum_dependencies", sumDependencies);
const worker = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });

test("a thrown Error becomes a failed step, retryable unless error.retryable === false", async () => {
  let calls = 0;
  registerHandler("flaky", async (ctx) => {
    calls += 1;
    if (ctx.attempt < 2) throw new TypeError("try again");
    return ctx.attempt;
  });
  registerHandler("fatal", () => {
    const e = new Error("card declined");
    e.retryable = false;
    throw e;
  });
  const result = await worker.runTask(template("errors", [
    { name: "f", handler: "flaky", max_attempts: 3 },
    { name: "g", handler: "fatal", max_attempts: 3 },
    { name: "h", handler: "square", depends_on: ["g"] },
  ]), { even_number: 2 });
  assert.equal(result.status, "error");
  assert.equal(result.stepResults.f, 2);
  assert.equal(calls, 2);
  assert.equal(result.steps.g.status, "failed");
  assert.equal(result.steps.g.attempts, 1);
  assert.equal(result.steps.g.error, "card declined");
  assert.equal(result.steps.g.error_type, "Error");
  assert.equal(result.steps.h.status, "skipped");
});

test("bad argument types get a clear error with a code, never a trap", async () => {
  for (const [name, kind] of [[5, "a number"], [{}, "an object"], [Symbol("s"), "a symbol"], [1n, "a bigint"], ["", "an empty string"]]) {
    assert.throws(() => registerHandler(name, square), (e) => e instanceof Error && e.code === "CONFIGURATION" &&
      e.message === `a handler name must be a non-empty string, got ${kind}`, String(kind));
  }
  assert.throws(() => new Worker(), (e) => e.code === "CONFIGURATION" &&
    e.message === "Worker cannot be constructed directly: use `await bootstrapWorker(options)`");
});

test("ffiFloor calls a function from Rust n times, and a throw propagates as thrown", () => {
  let calls = 0;
  assert.equal(ffiFloor(() => { calls += 1; }, 3), undefined);
  assert.equal(calls, 3);
  const thrown = new RangeError("from the callback");
  assert.throws(() => ffiFloor(() => { throw thrown; }, 1), (e) => e === thrown);
});
