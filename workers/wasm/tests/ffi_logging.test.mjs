import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

// Logs go to stderr, as the Ruby and Python workers' do; stdout stays the program's own.
function load(env) {
  const r = spawnSync(process.execPath, ["-e", "require('tasker-core-wasm')"], {
    env: { ...process.env, ...env }, encoding: "utf8", cwd: process.cwd(),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "", "nothing is logged to stdout");
  return r.stderr;
}

test("console logging works from the moment the module loads", () => {
  const out = load({ TASKER_ENV: "test", TELEMETRY_ENABLED: "false" });
  const line = out.split("\n").find((l) => l.includes("Console-only logging initialized (FFI-safe mode)"));
  assert.ok(line, out);
  for (const f of ["environment=test", "opentelemetry_enabled=false", 'context="ffi_initialization"']) assert.ok(line.includes(f), f);
  assert.ok(out.includes("FFI console logging initialized (no telemetry)"));
});

test("TELEMETRY_ENABLED from process.env defers export to bootstrap and still logs", () => {
  const out = load({ TELEMETRY_ENABLED: "true" });
  assert.ok(out.includes("TAS-65: Telemetry enabled - deferring OpenTelemetry export to runtime context"), out);
});
