import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

function load(env) {
  return execFileSync(process.execPath, ["-e", "require('tasker-core-wasm')"], {
    env: { ...process.env, ...env }, encoding: "utf8", cwd: process.cwd(),
  });
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
