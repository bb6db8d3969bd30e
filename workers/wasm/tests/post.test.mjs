// post.rs: each batch goes with the configured headers, gzipped when asked, to the traces
// endpoint; a recorder in front of a real collector sees the requests, the collector the spans.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { registerHandler, bootstrapWorker } from "tasker-core-wasm";
import { startCollector, startReceiver } from "./support/collector.mjs";
import { LINEAR, square } from "./support/templates.mjs";

const collector = await startCollector();
after(() => collector.stop());

// Records each request (path, headers, first bytes); the collector gets it unchanged.
const seen = [];
const recorder = await startReceiver(collector, (req, body) => {
  seen.push({ url: req.url, headers: req.headers, magic: body.subarray(0, 2).toString("hex") });
  return false;
});
after(() => recorder.close());
const recorderEndpoint = recorder.endpoint;

registerHandler("square", square);

async function nineSpansArrive(result) {
  const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 9);
  assert.equal(spans.filter((x) => x.traceId === result.traceId).length, 9);
}

test("the configured headers and gzip reach the collector, which decodes the spans", async () => {
  seen.length = 0;
  const worker = await bootstrapWorker({ telemetry: {
    enabled: true, endpoint: recorderEndpoint, compression: "gzip",
    headers: { authorization: "Bearer t0ken", "x-tenant": "acme" },
  } });
  const result = await worker.runTask(LINEAR, { even_number: 2 });
  await worker.stop();
  await nineSpansArrive(result);
  assert.ok(seen.length > 0);
  for (const r of seen) {
    assert.equal(r.url, "/v1/traces");
    assert.equal(r.headers.authorization, "Bearer t0ken");
    assert.equal(r.headers["x-tenant"], "acme");
    assert.equal(r.headers["content-type"], "application/x-protobuf");
    assert.equal(r.headers["content-encoding"], "gzip");
    assert.equal(r.magic, "1f8b", "the body is gzip");
  }
});

test("OTEL_EXPORTER_OTLP_HEADERS and the traces endpoint, used as given, come from process.env", async () => {
  seen.length = 0;
  process.env.OTEL_EXPORTER_OTLP_HEADERS = "x-api-key=s3cret,x-team=core";
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${recorderEndpoint}/ingest/traces`;
  try {
    const worker = await bootstrapWorker({ telemetry: { enabled: true } });
    const result = await worker.runTask(LINEAR, { even_number: 2 });
    await worker.stop();
    await nineSpansArrive(result);
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  }
  assert.ok(seen.length > 0);
  for (const r of seen) {
    assert.equal(r.url, "/ingest/traces");
    assert.equal(r.headers["x-api-key"], "s3cret");
    assert.equal(r.headers["x-team"], "core");
    assert.equal(r.headers["content-encoding"], undefined);
  }
});

test("a compression other than gzip or none is refused, naming the option", async () => {
  await assert.rejects(bootstrapWorker({ telemetry: { enabled: true, compression: "br" } }), {
    code: "CONFIGURATION",
    message: 'invalid worker configuration: telemetry compression "br" is not gzip or none',
  });
});

test("a request on a kept-alive socket the collector closed is sent again on a new one", async () => {
  // The receiver answers each socket's first request and drops the socket at its second,
  // as a collector that closed an idle connection while the request was on its way.
  const requests = new WeakMap();
  let dropped = 0;
  const closing = await startReceiver(collector, (req) => {
    const n = (requests.get(req.socket) ?? 0) + 1;
    requests.set(req.socket, n);
    if (n < 2) return false;
    dropped++;
    req.socket.destroy();
    return true;
  });
  try {
    const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: closing.endpoint } });
    const first = await worker.runTask(LINEAR, { even_number: 2 });
    await worker.flush();
    const second = await worker.runTask(LINEAR, { even_number: 2 });
    await worker.flush();
    await worker.stop();
    assert.equal(dropped, 1);
    await nineSpansArrive(first);
    await nineSpansArrive(second);
  } finally {
    closing.close();
  }
});
