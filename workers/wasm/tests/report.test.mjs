// What stop() and flush() resolve to: the telemetry report. A collector that is down costs
// its spans and one WARN line, never a rejected stop, unless { strict: true } asks for it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { bootstrapWorker } from "tasker-core-wasm";

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const DOWN = `
const { registerHandler, bootstrapWorker } = require("tasker-core-wasm");
(async () => {
  registerHandler("noop", () => 1);
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: process.env.DOWN } });
  const r = await worker.runTask({ namespace: "js", name: "down", steps: [{ name: "a", handler: "noop" }] }, {});
  const report = await worker.stop();
  console.log(r.status, JSON.stringify(report));
  console.log(JSON.stringify(await worker.stop()));
})();
`;

test("stop against a collector that is down resolves with the loss and warns once", async () => {
  const down = `http://127.0.0.1:${await freePort()}`;
  const r = spawnSync(process.execPath, ["-e", DOWN], { env: { ...process.env, DOWN: down, NO_COLOR: "1" }, encoding: "utf8", cwd: process.cwd() });
  assert.equal(r.status, 0, r.stderr);
  const [first, second] = r.stdout.trim().split("\n");
  const [status, json] = [first.slice(0, first.indexOf(" ")), first.slice(first.indexOf(" ") + 1)];
  assert.equal(status, "complete");
  const report = JSON.parse(json);
  assert.deepEqual({ ...report, error: undefined }, { spansExported: 0, spansFailed: 3, spansDropped: 0, spansDroppedBeforeBootstrap: 0, error: undefined });
  assert.match(report.error, /^shutting telemetry down failed: 3 span\(s\) in 1 batch\(es\) could not be exported: .*ECONNREFUSED/);
  assert.deepEqual(JSON.parse(second), { ...report, error: null }, "a second stop reports nothing new");
  const warns = r.stderr.split("\n").filter((l) => l.includes(" WARN "));
  assert.equal(warns.length, 1, r.stderr);
  assert.ok(warns[0].includes("Telemetry was not fully exported; nothing else failed"), warns[0]);
  assert.ok(warns[0].includes("spans_failed=3") && warns[0].includes('operation="shutdown"'), warns[0]);
});

test("flush resolves with the same report, and rejects only when strict", async () => {
  const worker = await bootstrapWorker({ telemetry: { enabled: false } });
  const report = await worker.flush();
  assert.equal(report.error, null);
  assert.deepEqual(Object.keys(report).sort(), ["error", "spansDropped", "spansDroppedBeforeBootstrap", "spansExported", "spansFailed"]);
  assert.deepEqual(await worker.flush({ strict: true }), report);
  await worker.stop();
});

test("stop and flush refuse options they do not know, naming them", async () => {
  const worker = await bootstrapWorker({ telemetry: { enabled: false } });
  await assert.rejects(worker.flush("yes"), { code: "CONFIGURATION", message: "flush options must be an object, got a string" });
  await assert.rejects(worker.stop({ strcit: true }), { code: "CONFIGURATION", message: 'stop options have no "strcit" (known: strict)' });
  await assert.rejects(worker.stop({ strict: 1 }), { code: "CONFIGURATION", message: "stop options strict must be a boolean, got a number" });
  assert.equal(worker.stopped, false, "a refused stop does not stop");
  await worker.stop();
});
