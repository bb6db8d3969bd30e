// The repository's example templates, as text (runTask takes YAML or JSON text, or objects).
import { readFileSync } from "node:fs";

const dir = process.env.TASKER_TEMPLATES;
if (!dir) throw new Error("TASKER_TEMPLATES is not set: run these tests through `make test-wasm`");
export const LINEAR = readFileSync(`${dir}/linear_workflow.yaml`, "utf8");
export const DIAMOND = readFileSync(`${dir}/diamond_workflow.yaml`, "utf8");

export const square = (ctx) => {
  const deps = Object.values(ctx.dependencyResults);
  const n = deps.length ? deps[0] : ctx.input.even_number;
  return n * n;
};
export const sumDependencies = (ctx) => Object.values(ctx.dependencyResults).reduce((a, b) => a + b, 0);

export const template = (name, steps) => ({ namespace: "wasm_test", name, version: "1.0.0", steps });
