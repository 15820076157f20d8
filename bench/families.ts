// The evaluator against llama.cpp on every family and format: |Δ mean NLL| / NLL of yarnify's evaluate() against
// llama.cpp (node-llama-cpp, CPU, float32 K/V cache) on the same GGUF, for the random-weight fixtures of
// test/support/family-fixtures.ts (HF directory and GGUF; trained context and 2×), their quantized GGUFs, and the
// tiny model's HF, f32 and f16 GGUF (llama.cpp's default f16 cache, as the README's figures).
//   node dist/bench/families.js [--docs 4] [--tiny-docs 24] [--device cpu|gpu] [--precision auto|f32|f16]
//   (also bun / deno run -A bench/families.ts; for gpu on a machine without one, source .ci/setup-lavapipe.sh's env)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { evaluate, type EvalDevice } from "../src/eval/evaluate.ts";
import type { EvalMethod } from "../src/eval/methods.ts";
import { patch } from "../src/patch.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture, type FixtureName, type GgufType } from "../test/support/family-fixtures.ts";
import { sharedPath } from "../test/support/shared.ts";
import { llamaCppPerplexity } from "./llamacpp/perplexity.ts";

const { values } = parseArgs({
  options: { docs: { type: "string", default: "4" }, "tiny-docs": { type: "string", default: "24" }, device: { type: "string", default: "cpu" }, precision: { type: "string", default: "auto" } },
});
const texts = evalDocs(Number(values.docs));
const tinyTexts = evalDocs(Number(values["tiny-docs"]));
const device = values.device as EvalDevice;
const precision = values.precision as "auto" | "f32" | "f16";

const asDocs = (t: string[]) => t.map((text, i) => ({ path: `doc ${i}`, text }));
async function ours(model: string, length: number, t: string[], method: EvalMethod = "model", factor?: number): Promise<{ nll: number; device: string }> {
  const r = await evaluate({ model, texts: t, contexts: [length], methods: [method], device, precision, ...(factor && { factor }) });
  return { nll: Math.log(r.results[0]!.perplexity), device: r.device };
}
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(" | ")} |`);
const rel = (a: number, b: number) => (Math.abs(a - b) / b).toExponential(1);

const dir = mkdtempSync(join(tmpdir(), "yarnify-bench-families-"));
try {
  console.log(`fixtures: ${texts.length} docs; tiny model: ${tinyTexts.length} docs; device ${device}`);
  row(["family", "extension", "context", "llama.cpp mean NLL", "GGUF |Δ|/NLL", "HF |Δ|/NLL"]);
  row(["---", "---", "---:", "---:", "---:", "---:"]);
  for (const name of ["llama", "llama3", "mistral", "qwen2", "qwen3", "gemma3", "phi3"] as FixtureName[]) {
    const f = FIXTURES[name];
    const w = fixtureWeights(f);
    const hf = join(dir, name);
    const gguf = join(dir, `${name}.gguf`);
    writeHfFixture(hf, f, w);
    await writeGgufFixture(gguf, f, w);
    const cases = [{ what: "none (trained)", length: f.trained, hf, gguf }];
    if (name === "phi3") cases.push({ what: "longrope (long factors)", length: 2 * f.trained, hf, gguf });
    else if (name !== "llama3") {
      await patch({ model: hf, factor: 2, out: `${hf}-x2` });
      await patch({ model: gguf, factor: 2, out: `${hf}-x2.gguf` });
      cases.push({ what: "YaRN ×2 (patch)", length: 2 * f.trained, hf: `${hf}-x2`, gguf: `${hf}-x2.gguf` });
    }
    for (const c of cases) {
      const want = (await llamaCppPerplexity({ modelPath: c.gguf, docs: asDocs(texts), length: c.length, exact: true })).meanNll;
      row([name, c.what, c.length, want.toFixed(5), rel((await ours(c.gguf, c.length, texts)).nll, want), rel((await ours(c.hf, c.length, texts)).nll, want)]);
    }
  }
  console.log("\nquantized GGUFs of the llama-q fixture (hidden 256), 256 tokens");
  row(["weights", "llama.cpp mean NLL", "|Δ|/NLL"]);
  row(["---", "---:", "---:"]);
  const q = FIXTURES["llama-q"];
  const qw = fixtureWeights(q);
  for (const type of ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K"] as GgufType[]) {
    const file = join(dir, `q-${type}.gguf`);
    await writeGgufFixture(file, q, qw, type);
    const want = (await llamaCppPerplexity({ modelPath: file, docs: asDocs(texts), length: q.trained, exact: true })).meanNll;
    row([type === "Q4_K" ? "Q4_K (output Q6_K)" : type, want.toFixed(5), rel((await ours(file, q.trained, texts)).nll, want)]);
  }
  console.log(`\nthe tiny model (perplexity), ${tinyTexts.length} docs; llama.cpp with its default f16 K/V cache`);
  row(["model", "context", "llama.cpp", "yarnify HF", "yarnify f32 GGUF", "yarnify f16 GGUF"]);
  row(["---", "---:", "---:", "---:", "---:", "---:"]);
  const tiny = sharedPath("models/tiny-llama-py");
  const tinyGguf = join(tiny, "tiny-llama-f32.gguf");
  await patch({ model: tinyGguf, factor: 2, out: join(dir, "tiny-x2.gguf") });
  for (const [what, length, llamaFile, method] of [["unpatched", 256, tinyGguf, "none"], ["unpatched", 512, tinyGguf, "none"], ["YaRN ×2", 512, join(dir, "tiny-x2.gguf"), "yarn"]] as const) {
    const ppl = (await llamaCppPerplexity({ modelPath: llamaFile, docs: asDocs(tinyTexts), length })).perplexity;
    const mine = async (m: string) => Math.exp((await ours(m, length, tinyTexts, method, method === "yarn" ? 2 : undefined)).nll).toFixed(4);
    row([what, length, ppl.toFixed(4), await mine(tiny), await mine(tinyGguf), await mine(join(tiny, "tiny-llama-f16.gguf"))]);
  }
  console.log(`\ndevice: ${(await ours(join(dir, "llama.gguf"), 64, texts.slice(0, 1))).device}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
