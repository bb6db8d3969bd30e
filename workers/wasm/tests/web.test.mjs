// The --target web bundle runs linear_workflow in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join, extname } from "node:path";
import { execFile } from "node:child_process";

const pkg = process.env.TASKER_WEB_PKG;
const page = process.env.TASKER_WEB_PAGE;
const templates = process.env.TASKER_TEMPLATES;
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".yaml": "text/yaml" };

test("the web bundle runs linear_workflow in headless Chromium", async () => {
  assert.ok(pkg && existsSync(join(pkg, "tasker_core_wasm.js")), `no web bundle at ${pkg}`);
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x").pathname;
    const file = url === "/" || url === "/index.html" ? page
      : url.startsWith("/pkg/") ? join(pkg, url.slice(5))
      : url === "/linear_workflow.yaml" ? join(templates, "linear_workflow.yaml") : null;
    if (!file || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  try {
    const dom = await new Promise((resolve, reject) => {
      execFile(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        `--user-data-dir=${join(process.env.TMPDIR || "/tmp", `tasker-chromium-${port}`)}`,
        "--virtual-time-budget=15000", "--dump-dom", `http://127.0.0.1:${port}/index.html`],
      { timeout: 60000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const text = dom.match(/<pre id="result">([\s\S]*?)<\/pre>/)?.[1];
    assert.ok(text && text.startsWith("{"), `the page said: ${text ?? dom}`);
    const result = JSON.parse(text.replaceAll("&quot;", '"'));
    assert.equal(result.status, "complete");
    assert.deepEqual(result.stepResults, { linear_step_1: 4, linear_step_2: 16, linear_step_3: 256, linear_step_4: 65536 });
    assert.match(result.traceId, /^[0-9a-f]{32}$/);
  } finally {
    server.close();
  }
});
