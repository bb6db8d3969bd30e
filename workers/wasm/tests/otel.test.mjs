import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { startCollector } from "./support/collector.mjs";

// The application runs in its own project, which has @opentelemetry/* installed (make
// test-wasm-js makes it); this one has not, as an application that does not use OpenTelemetry.
const project = process.env.TASKER_OTEL_PROJECT;
const collector = await startCollector();
after(() => collector.stop());

async function runApp(mode) {
  if (!project) throw new Error("TASKER_OTEL_PROJECT is not set: run these tests through `make test-wasm`");
  const script = join(project, "otel_app.mjs");
  copyFileSync(new URL("./support/otel_app.mjs", import.meta.url), script);
  const { stdout } = await promisify(execFile)("node", [script, mode, collector.httpEndpoint], { cwd: project, timeout: 60000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const inTrace = (traceId, n) => collector.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= n);

test("with an SDK registered, the handler's own span is in the step's trace, under tasker.handler, under the execution span", async () => {
  const out = await runApp("sdk");
  const { traceId } = out.results.own;
  assert.equal(out.results.own.status, "complete");
  assert.equal(out.seen.own.traceId, traceId);
  // task, execution, tasker.handler, the app's span, its fetch, completion
  const spans = (await inTrace(traceId, 6)).filter((s) => s.traceId === traceId);
  const byName = (n) => spans.filter((s) => s.name === n);
  const [exec] = byName("worker.step_execution");
  const [handler] = byName("tasker.handler own_step");
  const [app] = byName("my-app.work");
  const [completion] = byName("worker.step_completion_received");
  assert.ok(handler, JSON.stringify(spans.map((s) => s.name)));
  assert.equal(exec.spanId, out.seen.own.spanId);
  assert.equal(handler.parentId, exec.spanId);
  assert.equal(handler.attributes.step_name, "own_step");
  assert.equal(handler.attributes.task_uuid, exec.attributes.task_uuid);
  assert.equal(handler.attributes.step_uuid, exec.attributes.step_uuid);
  assert.equal(app.spanId, out.app.spanId);
  assert.equal(app.parentId, handler.spanId);
  // The completion came back with the handler span's ids, and still links to the execution.
  assert.equal(completion.parentId, handler.spanId);
  assert.equal(completion.links[0]?.spanId, exec.spanId);
});

test("propagation.inject in a handler gives the step's traceparent, and fetch sends it downstream", async () => {
  const out = await runApp("sdk");
  const { traceId } = out.results.own;
  assert.equal(out.carrier.traceparent, `00-${traceId}-${out.app.spanId}-01`);
  assert.equal(out.downstream.length, 1);
  const [, sentTrace, sentSpan] = out.downstream[0].split("-");
  assert.equal(sentTrace, traceId);
  const spans = await inTrace(traceId, 7);
  const fetchSpan = spans.find((s) => s.spanId === sentSpan);
  assert.ok(fetchSpan, "the fetch's span was exported");
  assert.equal(fetchSpan.parentId, out.app.spanId);
});

test("a handler that throws, or runs out of time, ends its tasker.handler span with an error status", async () => {
  const out = await runApp("sdk");
  assert.equal(out.results.fails.errorType, "Error");
  assert.equal(out.results.hangs.errorType, "timeout");
  for (const [name, message] of [["fails", "boom"], ["hangs", "the handler timed out after 100 ms"]]) {
    const { traceId } = out.results[name];
    const spans = (await inTrace(traceId, 4)).filter((s) => s.traceId === traceId);
    const handler = spans.find((s) => s.name === `tasker.handler ${name}_step`);
    assert.ok(handler, `${name}: ${JSON.stringify(spans.map((s) => s.name))}`);
    assert.equal(handler.parentId, out.seen[name].spanId);
    assert.equal(handler.status, "STATUS_CODE_ERROR");
    assert.equal(handler.statusMessage, message);
  }
});

test("with the API but no SDK, the handler runs in the execution span's context and the completion hangs off that span", async () => {
  const out = await runApp("api");
  const { traceId } = out.results.own;
  assert.equal(out.carrier.traceparent, out.seen.own.traceparent);
  const spans = (await inTrace(traceId, 3)).filter((s) => s.traceId === traceId);
  assert.deepEqual(spans.map((s) => s.name).sort(), ["worker.step_completion_received", "worker.step_execution", "worker.task_execution"]);
  const completion = spans.find((s) => s.name === "worker.step_completion_received");
  assert.equal(completion.parentId, out.seen.own.spanId);
});

test("without @opentelemetry/api installed, a handler's context and completion are the worker's own", async () => {
  assert.throws(() => createRequire(import.meta.url).resolve("@opentelemetry/api"), { code: "MODULE_NOT_FOUND" });
  const seen = [];
  registerHandler("plain", (ctx) => { seen.push({ ...ctx }); return 2; });
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: collector.httpEndpoint } });
  const r = await worker.runTask({ namespace: "otel", name: "plain", steps: [{ name: "p", handler: "plain" }] }, {});
  await worker.stop();
  assert.equal(r.status, "complete");
  assert.equal(globalThis[Symbol.for("opentelemetry.js.api.1")], undefined);
  const spans = (await inTrace(r.traceId, 3)).filter((s) => s.traceId === r.traceId);
  assert.equal(spans.length, 3);
  assert.equal(spans.find((s) => s.name === "worker.step_completion_received").parentId, seen[0].spanId);
});

test("openTelemetry must be the API module or false, and the error says so", async () => {
  await assert.rejects(bootstrapWorker({ openTelemetry: { trace: {} } }), {
    code: "CONFIGURATION",
    message: 'openTelemetry must be the @opentelemetry/api module (import * as api from "@opentelemetry/api") or false',
  });
  const worker = await bootstrapWorker({ openTelemetry: false });
  await worker.stop();
});
