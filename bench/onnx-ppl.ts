// The tiny model's ONNX export in ONNX Runtime: perplexity unpatched (256/512 checked against transformers'
// calibration) and after yarnify's patch (factor 2 at 512 against transformers' YaRN; factor 4 at 1024, the
// figure to compare with llama.cpp on the GGUF patched with the same factor).
// Run: npx tsc -p tsconfig.build.json && node dist/bench/onnx-ppl.js   (or bun / deno run -A bench/onnx-ppl.ts)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectOnnx, patchOnnx } from "../converters/onnx/index.ts";
import { plan } from "../src/core/plan.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { loadDocs, perplexity, tokenizeDocs } from "../test/support/onnx-perplexity.ts";
import { sharedPath } from "../test/support/shared.ts";

const modelDir = sharedPath("models/tiny-llama-py");
const source = join(modelDir, "onnx/model.onnx");
const docs = loadDocs(sharedPath("data/eval-docs.json"));
const calibration = JSON.parse(readFileSync(sharedPath("reference/tiny-ppl-calibration.json"), "utf8")) as { rows: Record<string, number>[] };
const ref = (context: number, column: string) => calibration.rows.find((r) => r.context === context)?.[column];

const started = performance.now();
const tokens = tokenizeDocs({ tokenizerJson: join(modelDir, "tokenizer.json"), tokenizerConfig: join(modelDir, "tokenizer_config.json"), docs, length: 1024 });
const first = (n: number) => tokens.map((ids) => ids.slice(0, n));
const spec = inspectOnnx(source).spec;
const out = mkdtempSync(join(tmpdir(), "yarnify-onnx-ppl-"));
const rows: { model: string; context: number; ortPpl: number; reference?: number; referenceColumn?: string }[] = [];
try {
  for (const context of [256, 512, 1024]) {
    rows.push({ model: "unpatched", context, ortPpl: await perplexity({ model: source, sequences: first(context) }), reference: ref(context, "none"), referenceColumn: "none" });
  }
  const p2 = patchOnnx({ source, plan: plan(spec, { factor: 2 }), out: join(out, "f2") });
  rows.push({ model: "yarn factor 2", context: 512, ortPpl: await perplexity({ model: p2.model, sequences: first(512) }), reference: ref(512, "yarn"), referenceColumn: "yarn" });
  const p4 = patchOnnx({ source, plan: plan(spec, { factor: 4 }), out: join(out, "f4") });
  for (const context of [256, 512, 1024]) {
    rows.push({ model: "yarn factor 4", context, ortPpl: await perplexity({ model: p4.model, sequences: first(context) }) });
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`onnx perplexity on ${runtimeName()}, ${docs.length} docs, ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const r of rows) {
  const vs = r.reference !== undefined ? `  transformers ${r.referenceColumn} ${r.reference}  ratio ${(r.ortPpl / r.reference).toFixed(5)}` : "";
  console.log(`${r.model.padEnd(14)} L=${String(r.context).padEnd(5)} ORT ppl ${r.ortPpl.toFixed(4)}${vs}`);
}
