// llama.cpp judges the evaluator on every family: a random-weight fixture per family (test/support/family-fixtures.ts)
// written as an HF directory and as a GGUF the way llama.cpp's converter writes it; llama.cpp's per-token
// log-probabilities on the GGUF (float32 K/V cache) against yarnify's mean NLL on both, at the trained context and at
// 2× after `patch --factor 2` (llama.cpp reading the patched GGUF). Quantized GGUFs of one fixture against llama.cpp
// on the same file. Registered only where node-llama-cpp loads on this runtime; under test/all.sh llama.cpp's figures
// are computed once per input file for the three runtimes (test/support/judge-cache.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nllCpu } from "../src/eval/cpu/forward.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { firstTokens } from "../src/eval/tokenizer.ts";
import { patch } from "../src/patch.ts";
import { test } from "./support/harness.ts";
import { cachedFixture, cachedPerplexity, loadJudge } from "./support/judge-cache.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture, type FixtureName, type GgufType } from "./support/family-fixtures.ts";

const judge = await loadJudge("llama.cpp judge");
const texts = evalDocs(1);
// Two documents for the quantized files: llama.cpp's activation rounding is noise that averages down.
const quantTexts = evalDocs(2);
const F32_TOLERANCE = 1e-4;
// llama.cpp multiplies quantized weights by activations it quantizes too (Q8_0 / Q8_K blocks), yarnify by float32 ones.
const QUANT_TOLERANCE = 1e-3;

async function llamaCppNll(modelPath: string, length: number, docs = texts): Promise<number> {
  const r = await cachedPerplexity(judge!.llamaCppPerplexity, { modelPath, docs: docs.map((text, i) => ({ path: `doc ${i}`, text })), length, exact: true });
  return r.meanNll;
}

async function yarnifyNll(model: string, length: number, docs = texts): Promise<number> {
  const r = await evaluate({ model, texts: docs, contexts: [length], device: "cpu" });
  return Math.log(r.results[0]!.perplexity);
}

/**
 * Mean |per-token NLL change| over the mean NLL when the model's own RoPE is replaced by plain RoPE: how much the
 * judged agreement depends on the family's frequencies being right (a mean could hide changes that cancel).
 */
async function ropeSensitivity(model: string, length: number): Promise<number> {
  const ck = await openCheckpoint(model);
  const w = await loadWeights(ck);
  await ck.close();
  const tokens = Int32Array.from(firstTokens(ck.tokenizer(), texts[0]!, length));
  const own = nllCpu(w, { tokens, rope: modelRopeFor(ck.rope, "model", length), firstTarget: 1 });
  const plain = nllCpu(w, { tokens, rope: modelRopeFor(ck.rope, "none", length), firstTarget: 1 });
  let change = 0, total = 0;
  own.forEach((x, i) => {
    change += Math.abs(x - plain[i]!);
    total += x;
  });
  return change / total;
}

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-judge-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** What each fixture is judged on past its trained context. */
const EXTENDED: Record<Exclude<FixtureName, "llama-q">, string> = {
  llama: "YaRN ×2 by patch",
  llama3: "none: patching Llama 3 frequencies needs --force, and llama.cpp keeps rope_freqs under YaRN (transformers does not)",
  mistral: "YaRN ×2 by patch",
  qwen2: "YaRN ×2 by patch",
  qwen3: "YaRN ×2 by patch",
  gemma3: "YaRN ×2 by patch (full-attention layers; sliding layers keep their RoPE)",
  phi3: "longrope's long factors, chosen by length (the fixture declares 512 over an original 256)",
};

if (judge) {
  for (const [name, extended] of Object.entries(EXTENDED) as [Exclude<FixtureName, "llama-q">, string][]) {
    test(`llama.cpp judge, ${name}: mean NLL on the GGUF and the HF directory within 1e-4 at the trained context and past it (${extended})`, () =>
      withDir(async (dir) => {
        const f = FIXTURES[name];
        const w = fixtureWeights(f);
        const hf = join(dir, "hf");
        const gguf = join(dir, "model.gguf");
        writeHfFixture(hf, f, w);
        await writeGgufFixture(gguf, f, w);
        const cases = [{ length: f.trained, hf, gguf, what: "trained" }];
        if (name === "phi3") cases.push({ length: 2 * f.trained, hf, gguf, what: "long factors" });
        else if (name !== "llama3") {
          const hf2 = join(dir, "hf-x2");
          const gguf2 = join(dir, "model-x2.gguf");
          await patch({ model: hf, factor: 2, out: hf2 });
          await patch({ model: gguf, factor: 2, out: gguf2 });
          cases.push({ length: 2 * f.trained, hf: hf2, gguf: gguf2, what: "YaRN x2" });
        }
        for (const c of cases) {
          const want = await llamaCppNll(c.gguf, c.length);
          for (const [format, model] of [["gguf", c.gguf], ["hf", c.hf]] as const) {
            const got = await yarnifyNll(model, c.length);
            const rel = Math.abs(got - want) / want;
            console.log(`     ${name} ${format} @${c.length} (${c.what}): llama.cpp ${want.toFixed(6)} yarnify ${got.toFixed(6)} |Δ|/NLL ${rel.toExponential(2)}`);
            assert.ok(rel < F32_TOLERANCE, `${name} ${format} @${c.length}: |Δ|/NLL ${rel}`);
          }
        }
        // The model's own RoPE must matter where it is judged, or agreement could hide a pass that ignores it.
        const last = cases.at(-1)!;
        const sensitivity = await ropeSensitivity(last.hf, last.length);
        console.log(`     ${name} @${last.length}: plain RoPE moves the per-token NLL by ${sensitivity.toExponential(2)} of the NLL`);
        assert.ok(sensitivity > 10 * F32_TOLERANCE, `${name} @${last.length}: the model's RoPE barely matters (${sensitivity})`);
      }), { timeoutMs: 240_000 });
  }

  test("llama.cpp judge, quantized GGUFs of one fixture (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K with a Q6_K output, Q5_K, and F16) within 1e-3", () =>
    withDir(async (dir) => {
      const f = FIXTURES["llama-q"];
      const w = fixtureWeights(f);
      let f32: number | undefined;
      for (const type of ["F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K"] as GgufType[]) {
        const file = join(dir, `${type}.gguf`);
        // Quantizing is slow and the same on every runtime: made once per test/all.sh run.
        await cachedFixture(file, ["gguf fixture", f, type, ...[...w].flatMap(([n, t]) => [n, t.shape, t.data])], (path) => writeGgufFixture(path, f, w, type));
        const want = await llamaCppNll(file, f.trained, quantTexts);
        const got = await yarnifyNll(file, f.trained, quantTexts);
        const rel = Math.abs(got - want) / want;
        console.log(`     ${type}: llama.cpp ${want.toFixed(6)} yarnify ${got.toFixed(6)} |Δ|/NLL ${rel.toExponential(2)}`);
        assert.ok(rel < (type === "F32" ? F32_TOLERANCE : QUANT_TOLERANCE), `${type}: |Δ|/NLL ${rel}`);
        f32 ??= got;
        // Each quantization changes the weights, so a reader that ignored the blocks' scales could not agree.
        if (type !== "F32" && type !== "F16") assert.notEqual(got, f32, `${type} reads as the float32 weights`);
      }
    }), { timeoutMs: 300_000 });
}
