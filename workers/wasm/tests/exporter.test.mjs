// The exporter: OTLP/HTTP protobuf (the default) or JSON (node:http in Node), OTLP/JSON objects to a
// callback, and what stop reports when it fails.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { startCollector, startReceiver } from "./support/collector.mjs";
import { LINEAR, square } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

// A receiver that accepts only application/x-protobuf, as the OTLP spec allows: anything
// else is answered 400; protobuf requests go on, unchanged, to the real collector.
const seenTypes = [];
const protobufOnly = await startReceiver(collector, (req, _body, res) => {
  const type = req.headers["content-type"];
  seenTypes.push(type);
  if (type === "application/x-protobuf") return false;
  res.writeHead(400, { "content-type": "text/plain" }).end("only application/x-protobuf is accepted");
  return true;
});
after(() => protobufOnly.close());
const protobufOnlyEndpoint = protobufOnly.endpoint;

test("spans go as http/protobuf by default, to a receiver that accepts nothing else", async () => {
  registerHandler("square", square);
  seenTypes.length = 0;
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: protobufOnlyEndpoint, serviceName: "wasm-protobuf" } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  await worker.stop();
  const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 9);
  const mine = spans.filter((s) => s.traceId === result.traceId);
  assert.equal(mine.length, 9);
  assert.equal(mine[0].resource["service.name"], "wasm-protobuf");
  assert.ok(seenTypes.length > 0);
  assert.deepEqual(new Set(seenTypes), new Set(["application/x-protobuf"]));
});

test("protocol http/json sends OTLP/JSON, which a protobuf-only receiver refuses and stop reports", async () => {
  registerHandler("square", square);
  const json = await bootstrapWorker({ telemetry: { enabled: true, endpoint: collector.httpEndpoint, protocol: "http/json" } });
  const result = await json.runTask(LINEAR, { even_number: 2 });
  await json.stop();
  const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 9);
  assert.equal(spans.filter((x) => x.traceId === result.traceId).length, 9);

  const refused = await bootstrapWorker({ telemetry: { enabled: true, endpoint: protobufOnlyEndpoint, protocol: "http/json" } });
  await refused.runTask(LINEAR, { even_number: 2 });
  await assert.rejects(refused.stop({ strict: true }), (e) => e.code === "TELEMETRY"
    && /^shutting telemetry down failed: 9 span\(s\) in 1 batch\(es\) could not be exported: the collector answered HTTP 400$/.test(e.message));
});

test("a stream of tasks that never waits on I/O loses no spans to a collector that keeps up", async () => {
  // Steps run on promise jobs alone: without the exporter's turns of the event loop no
  // request is written until the task ends, and a task of 10,000 steps (20,001 spans)
  // overflows the buffer (16,384 spans, plus 4 sends of 512 taken out of it): fetch with no
  // turns dropped 21,570 of these 40,002 spans.
  registerHandler("noop", () => null);
  const steps = Array.from({ length: 10000 }, (_, i) => ({ name: `s${i}`, handler: "noop" }));
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: collector.httpEndpoint } });
  for (let i = 0; i < 2; i++) {
    const r = await worker.runTask({ namespace: "stream", name: "many", steps }, {});
    assert.equal(r.status, "complete");
  }
  await worker.stop();
});

test("protocol grpc is refused with the protocols the wasm worker speaks", async () => {
  await assert.rejects(bootstrapWorker({ telemetry: { enabled: true, protocol: "grpc" } }), {
    code: "CONFIGURATION",
    message: 'telemetry protocol "grpc" is not available in the wasm worker (it sends OTLP over HTTP): use http/protobuf or http/json',
  });
});

test("an exporter callback receives OTLP/JSON batches instead of their being sent", async () => {
  const batches = [];
  registerHandler("square", square);
  const worker = await bootstrapWorker({ telemetry: { exporter: (batch) => { batches.push(batch); } } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  await worker.stop();
  const spans = batches.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  const mine = spans.filter((s) => s.traceId === result.traceId);
  assert.equal(mine.length, 9);
  assert.deepEqual(new Set(mine.map((s) => s.name)), new Set(["worker.task_execution", "worker.step_execution", "worker.step_completion_received"]));
});

test("a collector that refuses the batch is reported by a strict stop", async () => {
  registerHandler("square", square);
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: "http://127.0.0.1:9" } });
  await worker.runTask(LINEAR, { even_number: 2 });
  await assert.rejects(worker.stop({ strict: true }), (e) => e.code === "TELEMETRY" && /could not be exported/.test(e.message));
});
