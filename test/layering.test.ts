// The floor plan, enforced: src/core/ imports nothing from the rest; each converters/<format>/ and kernels/ build
// on src/core/ (and their own folder) only; only the application (src/ beside core/) imports converters and kernels;
// the browser entry (src/browser.ts) reaches no Node module.
import assert from "node:assert/strict";
import { test } from "./support/harness.ts";
import { repoRoot } from "./support/cli-run.ts";
import { importCycles, importViolations, reachableImports, sourceImports } from "./support/layering.ts";

test("layering: every import in src/, converters/ and kernels/ follows the floor plan", () => {
  const imports = sourceImports(repoRoot);
  assert.ok(imports.length > 200, `only ${imports.length} imports found: is the scan looking at the sources?`);
  assert.deepEqual(importViolations(imports), []);
});

test("layering: the rules refuse each kind of crossing", () => {
  const crossings = [
    { from: "src/core/plan.ts", to: "src/inspect.ts" },
    { from: "src/core/plan.ts", to: "kernels/gpu.ts" },
    { from: "converters/onnx/patch.ts", to: "converters/hf/index.ts" },
    { from: "converters/gguf/patch.ts", to: "src/hub/publish.ts" },
    { from: "kernels/attention.ts", to: "converters/gguf/read.ts" },
    { from: "src/patch.ts", to: "test/harness.ts" },
  ];
  assert.equal(importViolations(crossings).length, crossings.length);
  const allowed = [
    { from: "src/core/plan.ts", to: "src/core/rope/yarn.ts" },
    { from: "converters/gguf/patch.ts", to: "converters/gguf/read.ts" },
    { from: "converters/gguf/patch.ts", to: "src/core/errors.ts" },
    { from: "kernels/attention.ts", to: "src/core/float16.ts" },
    { from: "src/cli/patch.ts", to: "converters/gguf/events.ts" },
    { from: "src/validate/index.ts", to: "kernels/gpu.ts" },
  ];
  assert.deepEqual(importViolations(allowed), []);
});

test("layering: no two files import each other, directly or round a loop", () => {
  assert.deepEqual(importCycles(sourceImports(repoRoot)), []);
  const loop = [
    { from: "converters/gguf/copy.ts", to: "converters/gguf/source.ts" },
    { from: "converters/gguf/source.ts", to: "converters/gguf/copy.ts" },
  ];
  assert.deepEqual(importCycles(loop), ["converters/gguf/copy.ts -> converters/gguf/source.ts -> converters/gguf/copy.ts"]);
});

// What a browser can load: the GGUF parser and the hub client (pure JS, bundled into the page); Node's modules never.
const BROWSER_PACKAGES = ["@huggingface/gguf", "@huggingface/hub"];

test("layering: src/browser.ts reaches no node: module and no package but the browser-safe ones", () => {
  const reached = reachableImports(repoRoot, "src/browser.ts");
  assert.ok(reached.size > 40, `only ${reached.size} files reached from src/browser.ts: is the walk following imports?`);
  assert.ok(reached.has("converters/gguf/stream.ts") && reached.has("kernels/attention.ts"), "the GGUF stream and the kernel are part of the entry");
  const offending = [...reached].flatMap(([file, bare]) => bare.filter((b) => !BROWSER_PACKAGES.includes(b)).map((b) => `${file} -> ${b}`));
  assert.deepEqual(offending, []);
  // The walk sees what the CLI's own entry pulls in: node: modules, found the same way.
  const cli = [...reachableImports(repoRoot, "src/patch.ts").values()].flat();
  assert.ok(cli.some((b) => b.startsWith("node:")), "the walk finds node: imports where there are some");
});
