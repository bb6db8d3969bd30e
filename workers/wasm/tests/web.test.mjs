// The --target web bundle runs linear_workflow in headless Chromium, and exports its spans
// with fetch, gzipped by the browser, to a real collector.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join, extname } from "node:path";
import { execFile } from "node:child_process";
import { startCollector, startReceiver } from "./support/collector.mjs";

const pkg = process.env.TASKER_WEB_PKG;
const page = process.env.TASKER_WEB_PAGE;
const templates = process.env.TASKER_TEMPLATES;
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".yaml": "text/yaml" };

// The page exports to its own origin (no CORS): the server records each request and passes
// it on to the collector.
const EXPORT_PAGE = `<!doctype html><html><body><pre id="result">pending</pre><script type="module">
import init, { registerHandler, bootstrapWorker } from "./pkg/tasker_core_wasm.js";
const out = document.getElementById("result");
try {
  await init();
  registerHandler("square", (ctx) => { const d = Object.values(ctx.dependencyResults); const n = d.length ? d[0] : ctx.input.even_number; return n * n; });
  const worker = await bootstrapWorker({ telemetry: { enabled: true, endpoint: location.origin, compression: "gzip", headers: { "x-tenant": "acme" } } });
  const result = await worker.runTask(await (await fetch("./linear_workflow.yaml")).text(), { even_number: 2 });
  await worker.stop();
  out.textContent = JSON.stringify(result);
} catch (e) { out.textContent = \`error: \${e.code ?? ""} \${e.message}\`; }
</script></body></html>`;

const collector = await startCollector();
after(() => collector.stop());

/** Serves the bundle, the template and `pages`; records POST /v1/traces and passes it on. */
async function serve(pages, posts) {
  return startReceiver(collector, (req, body, res) => {
    const url = new URL(req.url, "http://x").pathname;
    if (req.method === "POST" && url === "/v1/traces") {
      posts.push({ headers: req.headers, magic: body.subarray(0, 2).toString("hex") });
      return false;
    }
    if (pages[url]) { res.writeHead(200, { "content-type": "text/html" }).end(pages[url]); return true; }
    const file = url.startsWith("/pkg/") ? join(pkg, url.slice(5))
      : url === "/linear_workflow.yaml" ? join(templates, "linear_workflow.yaml") : null;
    if (!file || !existsSync(file)) { res.writeHead(404).end(); return true; }
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" }).end(readFileSync(file));
    return true;
  });
}

/** What headless Chromium shows in the page's #result once it settles. */
async function resultOf(port, path) {
  const dom = await new Promise((resolve, reject) => {
    execFile(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
      `--user-data-dir=${join(process.env.TMPDIR || "/tmp", `tasker-chromium-${port}`)}`,
      "--virtual-time-budget=15000", "--dump-dom", `http://127.0.0.1:${port}${path}`],
    { timeout: 60000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  const text = dom.match(/<pre id="result">([\s\S]*?)<\/pre>/)?.[1];
  assert.ok(text && text.startsWith("{"), `the page said: ${text ?? dom}`);
  return JSON.parse(text.replaceAll("&quot;", '"'));
}

test("the web bundle runs linear_workflow in headless Chromium", async () => {
  assert.ok(pkg && existsSync(join(pkg, "tasker_core_wasm.js")), `no web bundle at ${pkg}`);
  const server = await serve({ "/": readFileSync(page), "/index.html": readFileSync(page) }, []);
  try {
    const result = await resultOf(new URL(server.endpoint).port, "/index.html");
    assert.equal(result.status, "complete");
    assert.deepEqual(result.stepResults, { linear_step_1: 4, linear_step_2: 16, linear_step_3: 256, linear_step_4: 65536 });
    assert.match(result.traceId, /^[0-9a-f]{32}$/);
  } finally {
    server.close();
  }
});

test("in a browser, spans go by fetch with the configured headers, gzipped, and the collector decodes them", async () => {
  const posts = [];
  const server = await serve({ "/export.html": EXPORT_PAGE }, posts);
  try {
    const result = await resultOf(new URL(server.endpoint).port, "/export.html");
    assert.equal(result.status, "complete");
    const spans = await collector.waitFor((s) => s.filter((x) => x.traceId === result.traceId).length >= 9);
    assert.equal(spans.filter((x) => x.traceId === result.traceId).length, 9);
    assert.ok(posts.length > 0);
    for (const p of posts) {
      assert.equal(p.headers["x-tenant"], "acme");
      assert.equal(p.headers["content-type"], "application/x-protobuf");
      assert.equal(p.headers["content-encoding"], "gzip");
      assert.equal(p.magic, "1f8b", "the body is gzip");
    }
  } finally {
    server.close();
  }
});
