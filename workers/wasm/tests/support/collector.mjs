// A real OTLP collector (rotel, from PyPI) on free loopback ports, and a parser for the
// spans it prints: tests assert on what crossed the wire.
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function listening(port) {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => { c.destroy(); resolve(true); });
    c.once("error", () => resolve(false));
  });
}

export async function startCollector() {
  const agent = process.env.ROTEL_AGENT;
  if (!agent) throw new Error("ROTEL_AGENT is not set: run these tests through `make test-wasm`");
  const grpc = await freePort();
  const http = await freePort();
  const out = join(mkdtempSync(join(tmpdir(), "tasker-rotel-")), "rotel.log");
  const fd = openSync(out, "w");
  const child = spawn(agent, ["start", "--exporter", "blackhole", "--debug-log", "traces",
    "--debug-log-verbosity", "detailed", "--otlp-grpc-endpoint", `127.0.0.1:${grpc}`,
    "--otlp-http-endpoint", `127.0.0.1:${http}`], { stdio: ["ignore", fd, fd] });
  const deadline = Date.now() + 20000;
  for (const port of [http, grpc]) {
    while (!(await listening(port))) {
      if (Date.now() > deadline) throw new Error(`the collector did not listen:\n${readFileSync(out, "utf8")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const output = () => readFileSync(out, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  return {
    httpEndpoint: `http://127.0.0.1:${http}`,
    output,
    spans: () => parseSpans(output()),
    async waitFor(done, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = parseSpans(output());
        if (done(s) || Date.now() > end) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => child.kill(),
  };
}

/**
 * A receiver in front of `collector` on a free loopback port: each request's body is read,
 * shown to `look(req, body)`, which may answer it itself (return true), and otherwise passed
 * on unchanged, with its content type and encoding, to the collector's /v1/traces, whose
 * answer goes back. Resolves to `{ endpoint, close }`.
 */
export async function startReceiver(collector, look) {
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      if (look(req, body, res)) return;
      const headers = { "content-type": req.headers["content-type"] };
      if (req.headers["content-encoding"]) headers["content-encoding"] = req.headers["content-encoding"];
      const r = await fetch(`${collector.httpEndpoint}/v1/traces`, { method: "POST", headers, body });
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/x-protobuf" });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

export function parseSpans(text) {
  const spans = [];
  let resource = {};
  let section = null;
  const fields = { "Trace ID": "traceId", "Parent ID": "parentId", ID: "spanId", Name: "name", "Status code": "status", "Status message": "statusMessage" };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("ResourceSpans #")) { resource = {}; section = null; }
    else if (line === "Resource attributes:") section = "resource";
    else if (line.startsWith("ScopeSpans #")) section = null;
    else if (line.startsWith("Span #")) { spans.push({ traceId: "", parentId: "", spanId: "", name: "", status: "", statusMessage: "", attributes: {}, resource: { ...resource }, events: [], links: [] }); section = null; }
    else if (["Attributes:", "Events:", "Links:"].includes(line)) section = line.slice(0, -1).toLowerCase();
    else if (line.startsWith("SpanEvent #")) spans.at(-1).events.push({ name: "", attributes: {} });
    else if (line.startsWith("SpanLink #")) spans.at(-1).links.push({ traceId: "", spanId: "" });
    else if (line.startsWith("-> ") && line.includes(": ")) {
      const i = line.indexOf(": ");
      const key = line.slice(3, i);
      let value = line.slice(i + 2);
      const m = value.match(/^(?:Str|Int|Bool|Double)\((.*)\)$/);
      if (m) value = m[1];
      if (section === "resource") resource[key] = value;
      else if (section === "attributes") spans.at(-1).attributes[key] = value;
      else if (section === "events") {
        const ev = spans.at(-1).events.at(-1);
        if (key === "Name") ev.name = value; else if (key !== "Timestamp") ev.attributes[key] = value;
      } else if (section === "links") {
        const link = spans.at(-1).links.at(-1);
        if (key === "Trace ID") link.traceId = value; else if (key === "ID") link.spanId = value;
      }
    } else {
      const m = line.match(/^(Trace ID|Parent ID|ID|Name|Status code|Status message)\s*:\s*(.*)$/);
      if (m && spans.length) spans.at(-1)[fields[m[1]]] = m[2].trim();
    }
  }
  return spans;
}
