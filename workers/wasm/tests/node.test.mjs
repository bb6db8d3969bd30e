// Node's exit: the spans of a process that ends without stop() still reach the collector.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startCollector } from "./support/collector.mjs";
import { LINEAR } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

function child(code) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: process.cwd(), encoding: "utf8", timeout: 60000,
    env: { ...process.env, LINEAR_TEMPLATE: LINEAR, COLLECTOR: collector.httpEndpoint },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const RUN_ONE = `
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
registerHandler("square", (ctx) => { const d = Object.values(ctx.dependencyResults); const n = d.length ? d[0] : ctx.input.even_number; return n * n; });
const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: process.env.COLLECTOR } });
const r = await worker.runTask(process.env.LINEAR_TEMPLATE, { even_number: 2 });
process.stdout.write(r.traceId);
`;

for (const [how, ending] of [["a natural exit without stop()", ""], ["process.exit() right after a task", "process.exit(0);"]]) {
  test(`${how} still exports the task's spans`, async () => {
    const traceId = child(RUN_ONE + ending);
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= 9);
    assert.equal(spans.filter((x) => x.traceId === traceId).length, 9);
  });
}
