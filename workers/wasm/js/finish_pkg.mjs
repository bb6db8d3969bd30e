// Completes a wasm-pack output directory (node or web): writes otel.js beside the glue
// (the shared body and that target's footer) and lists it in package.json. The Node
// package also names @opentelemetry/api as an optional peer: used where the application
// has it, never installed on its behalf.
// Usage: node finish_pkg.mjs <pkg dir> <node|web>
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, target] = process.argv.slice(2);
if (!dir || !["node", "web"].includes(target)) {
  console.error("usage: node finish_pkg.mjs <pkg dir> <node|web>");
  process.exit(2);
}
const here = new URL(".", import.meta.url).pathname;
const body = readFileSync(join(here, "otel.js"), "utf8");
const footer = readFileSync(join(here, `otel.${target}.js`), "utf8");
writeFileSync(join(dir, "otel.js"), body + footer);

const manifest = join(dir, "package.json");
const pkg = JSON.parse(readFileSync(manifest, "utf8"));
pkg.files = [...new Set([...(pkg.files ?? []), "otel.js"])];
if (target === "node") {
  pkg.peerDependencies = { ...pkg.peerDependencies, "@opentelemetry/api": "^1.3.0" };
  pkg.peerDependenciesMeta = { ...pkg.peerDependenciesMeta, "@opentelemetry/api": { optional: true } };
}
writeFileSync(manifest, JSON.stringify(pkg, null, 2) + "\n");
