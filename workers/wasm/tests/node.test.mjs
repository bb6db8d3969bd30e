// Node's exit: the spans of a process that ends without stop() still reach the collector.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startCollector, startReceiver } from "./support/collector.mjs";
import { LINEAR } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

function child(code, env = {}) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: process.cwd(), encoding: "utf8", timeout: 60000,
    env: { ...process.env, LINEAR_TEMPLATE: LINEAR, COLLECTOR: collector.httpEndpoint, ...env },
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

test("process.exit() sends the configured headers, gzipped, as every other request", async () => {
  const seen = [];
  const recorder = await startReceiver(collector, (req, body) => {
    seen.push({ headers: req.headers, magic: body.subarray(0, 2).toString("hex") });
    return false;
  });
  try {
    const traceId = child(RUN_ONE + "process.exit(0);", {
      COLLECTOR: recorder.endpoint, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s3cret", OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    });
    const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= 9);
    assert.equal(spans.filter((x) => x.traceId === traceId).length, 9);
    assert.ok(seen.length > 0);
    for (const r of seen) {
      assert.equal(r.headers["x-api-key"], "s3cret");
      assert.equal(r.headers["content-type"], "application/x-protobuf");
      assert.equal(r.headers["content-encoding"], "gzip");
      assert.equal(r.magic, "1f8b");
    }
  } finally {
    recorder.close();
  }
});
