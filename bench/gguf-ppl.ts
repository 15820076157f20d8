// llama.cpp (node-llama-cpp, CPU) perplexity of the tiny model before and after `patch --factor N`,
// against transformers' calibration. Usage: node dist/bench/gguf-ppl.js [docs=24] [threads=1]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { plan } from "../src/core/plan.ts";
import { sharedPath } from "../test/support/shared.ts";
import { llamaCppPerplexity, loadEvalDocs } from "./llamacpp/perplexity.ts";

const model = sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf");
const docs = loadEvalDocs(sharedPath("data/eval-docs.json")).slice(0, Number(process.argv[2] ?? 24));
const threads = Number(process.argv[3] ?? 1);
const calibration = JSON.parse(readFileSync(sharedPath("reference/tiny-ppl-calibration.json"), "utf8")) as {
  rows: Array<{ context: number; none: number; yarn: number }>;
};
const ref = (context: number, col: "none" | "yarn") => calibration.rows.find((r) => r.context === context)?.[col];

const dir = mkdtempSync(join(tmpdir(), "yarnify-ppl-"));
try {
  const spec = (await inspectGguf(model)).spec;
  const patched = async (factor: number) => {
    const out = join(dir, `tiny-x${factor}.gguf`);
    await patchGguf({ source: model, plan: plan(spec, { factor }), out });
    return out;
  };
  const x2 = await patched(2);
  const x4 = await patched(4);
  const cases: Array<[string, string, number, number | undefined]> = [
    ["none", model, 256, ref(256, "none")],
    ["none", model, 512, ref(512, "none")],
    ["yarn x2", x2, 512, ref(512, "yarn")],
    ["none", model, 1024, undefined],
    ["yarn x4", x4, 1024, undefined],
  ];
  console.log(`llama.cpp perplexity, ${docs.length} docs, ${threads} thread(s); reference = transformers 5.17 (all 24 docs)`);
  for (const [name, path, length, reference] of cases) {
    const started = performance.now();
    const r = await llamaCppPerplexity({ modelPath: path, docs, length, threads });
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const vs = reference === undefined ? "" : `  reference ${reference}  rel.diff ${(((r.perplexity - reference) / reference) * 100).toFixed(3)}%`;
    console.log(`${name.padEnd(8)} L=${String(length).padEnd(5)} ppl ${r.perplexity.toFixed(4)}${vs}  (${r.tokens} tokens, ${secs} s)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
