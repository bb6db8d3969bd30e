// Errors reach JS as Errors with a code, from the core's one table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { square, sumDependencies, template } from "./support/templates.mjs";

registerHandler("square", async (ctx) => square(ctx));
registerHandler("sum_dependencies", sumDependencies);
const worker = await bootstrapWorker({ concurrency: 4, handlerTimeoutMs: 10000 });

test("an unknown handler or a bad template is a clear error with a code", async () => {
  await assert.rejects(worker.runTask(template("x", [{ name: "s", handler: "nobody" }]), {}),
    (e) => e instanceof Error && e.code === "UNKNOWN_HANDLER" && e.message === 'no handler registered as "nobody"');
  await assert.rejects(worker.runTask(template("cyc", [
    { name: "a", handler: "square", depends_on: ["b"] }, { name: "b", handler: "square", depends_on: ["a"] }]), {}),
  (e) => e.code === "TEMPLATE" && e.message === "task template wasm_test/cyc@1.0.0 has a dependency cycle: a -> b -> a");
  await assert.rejects(worker.runTask("namespace: [", {}), (e) => e.code === "TEMPLATE" && /not valid YAML/.test(e.message));
  assert.throws(() => registerHandler("n", 42), (e) => e.code === "CONFIGURATION");
});
