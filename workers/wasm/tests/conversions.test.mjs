// JS values <-> JSON: what JSON cannot hold is refused, never silently changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { LINEAR, square, sumDependencies, template } from "./support/templates.mjs";

registerHandler("square", async (ctx) => square(ctx));
registerHandler("sum_dependencies", sumDependencies);
const worker = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });

test("a result JSON cannot hold fails the step with the reason", async () => {
  registerHandler("cyclic", () => { const a = {}; a.self = a; return a; });
  registerHandler("bigint", () => 10n);
  const result = await worker.runTask(template("conv", [{ name: "c", handler: "cyclic" }, { name: "b", handler: "bigint" }]), {});
  assert.equal(result.steps.c.error_type, "invalid_result");
  assert.match(result.steps.c.error, /^the handler's result is not JSON: /);
  assert.match(result.steps.b.error, /BigInt/);
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
