import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker, ffiFloor, Worker } from "tasker-core-wasm";
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

test("a handler past its timeout becomes a failed step", async () => {
  registerHandler("never", () => new Promise(() => {}));
  const result = await worker.runTask(template("slow", [{ name: "s", handler: "never", timeout_ms: 100 }]), {});
  assert.equal(result.steps.s.status, "failed");
  assert.equal(result.steps.s.error_type, "timeout");
});

test("a result JSON cannot hold fails the step with the reason", async () => {
  registerHandler("cyclic", () => { const a = {}; a.self = a; return a; });
  registerHandler("bigint", () => 10n);
  const result = await worker.runTask(template("conv", [{ name: "c", handler: "cyclic" }, { name: "b", handler: "bigint" }]), {});
  assert.equal(result.steps.c.error_type, "invalid_result");
  assert.match(result.steps.c.error, /^the handler's result is not JSON: /);
  assert.match(result.steps.b.error, /BigInt/);
});

test("an unknown handler or a bad template is a clear error with a code", async () => {
  await assert.rejects(worker.runTask(template("x", [{ name: "s", handler: "nobody" }]), {}),
    (e) => e instanceof Error && e.code === "UNKNOWN_HANDLER" && e.message === 'no handler registered as "nobody"');
  await assert.rejects(worker.runTask(template("cyc", [
    { name: "a", handler: "square", depends_on: ["b"] }, { name: "b", handler: "square", depends_on: ["a"] }]), {}),
  (e) => e.code === "TEMPLATE" && e.message === "task template wasm_test/cyc@1.0.0 has a dependency cycle: a -> b -> a");
  await assert.rejects(worker.runTask("namespace: [", {}), (e) => e.code === "TEMPLATE" && /not valid YAML/.test(e.message));
  assert.throws(() => registerHandler("n", 42), (e) => e.code === "CONFIGURATION");
});

test("a second bootstrap with other options rejects naming what differs, and options are always checked", async () => {
  await assert.rejects(bootstrapWorker({ concurrency: 8, handlerTimeoutMs: 10000 }), (e) => e.code === "CONFIGURATION" &&
    e.message === "a worker is already running with a different configuration (concurrency: running 4, asked 8); stop it first, or bootstrap with the same options");
  await assert.rejects(bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000, concurency: 3 }), (e) => e.code === "CONFIGURATION" &&
    e.message === 'unknown worker option "concurency" (known: concurrency, handlerTimeoutMs, telemetry)');
  await assert.rejects(bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000, telemetry: { servicename: "x" } }),
    (e) => e.code === "CONFIGURATION" && /^unknown telemetry option "servicename"/.test(e.message));
  await assert.rejects(bootstrapWorker([]), (e) => e.code === "CONFIGURATION" && e.message === "worker must be an object, got an array");
  assert.equal(await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 }) !== null, true);
});

test("bad argument types get a clear error with a code, never a trap", async () => {
  for (const [name, kind] of [[5, "a number"], [{}, "an object"], [Symbol("s"), "a symbol"], [1n, "a bigint"], ["", "an empty string"]]) {
    assert.throws(() => registerHandler(name, square), (e) => e instanceof Error && e.code === "CONFIGURATION" &&
      e.message === `a handler name must be a non-empty string, got ${kind}`, String(kind));
  }
  assert.throws(() => new Worker(), (e) => e.code === "CONFIGURATION" &&
    e.message === "Worker cannot be constructed directly: use `await bootstrapWorker(options)`");
});

test("values JSON cannot hold are refused, not silently changed", async () => {
  registerHandler("nan", () => NaN);
  registerHandler("fn_field", () => ({ f: () => 1, x: 1 }));
  registerHandler("map", () => new Map([["a", 1]]));
  const steps = [["nan", "nan"], ["fn_field", "fn_field"], ["map", "map"]].map(([name, handler]) => ({ name, handler, max_attempts: 1 }));
  const result = await worker.runTask(template("strict", steps), {});
  assert.equal(result.status, "error");
  assert.equal(result.steps.nan.error, "the handler's result is not JSON: the value is NaN, which JSON cannot hold");
  assert.equal(result.steps.fn_field.error, "the handler's result is not JSON: the value at .f is a function, which JSON cannot hold");
  assert.match(result.steps.map.error, /^the handler's result is not JSON: the value is a Map, which JSON cannot hold/);
  for (const s of Object.values(result.steps)) assert.equal(s.error_type, "invalid_result");
  await assert.rejects(worker.runTask(template("nan_timeout", [{ name: "s", handler: "square", timeout_ms: NaN }]), { even_number: 2 }),
    (e) => e.code === "CONVERSION" && e.message === "template is not JSON: the value at .steps[0].timeout_ms is NaN, which JSON cannot hold");
  await assert.rejects(worker.runTask(LINEAR, [1, 2]), (e) => e.code === "CONVERSION" &&
    e.message === "invalid JSON: the task context must be an object (a Hash, dict or plain object), got an array");
});

test("a synchronous handler that blocks past its timeout is recorded as timeout", async () => {
  registerHandler("blocks", () => { const end = Date.now() + 600; while (Date.now() < end); return "late"; });
  const result = await worker.runTask(template("blocking", [{ name: "b", handler: "blocks", timeout_ms: 200, max_attempts: 1 }]), {});
  assert.equal(result.status, "error");
  assert.equal(result.steps.b.error_type, "timeout");
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

test("ffiFloor calls a function from Rust n times, and a throw propagates as thrown", () => {
  let calls = 0;
  assert.equal(ffiFloor(() => { calls += 1; }, 3), undefined);
  assert.equal(calls, 3);
  const thrown = new RangeError("from the callback");
  assert.throws(() => ffiFloor(() => { throw thrown; }, 1), (e) => e === thrown);
});
