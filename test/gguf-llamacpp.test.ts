// llama.cpp itself (node-llama-cpp 3.21.1, CPU) judges our GGUF output. Registered only where
// node-llama-cpp loads on this runtime; otherwise the run says so and counts nothing. Under test/all.sh its
// perplexities are computed once per input file for the three runtimes (test/support/judge-cache.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectGguf, patchGguf, readGgufHeader } from "../converters/gguf/index.ts";
import { openLocalSource } from "../converters/gguf/source.ts";
import { plan } from "../src/core/plan.ts";
import { test } from "./support/harness.ts";
import { cachedPerplexity, loadJudge } from "./support/judge-cache.ts";
import { sharedPath } from "./support/shared.ts";
import { appendF32Tensor, convertLlama3Factors } from "./support/gguf-make.ts";

const TINY = sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf");

const ppl = await loadJudge("llama.cpp tests");
const judge = ppl && { ...ppl, readGgufFileInfo: (await import("node-llama-cpp")).readGgufFileInfo };

async function withPatched<T>(factors: number[], fn: (paths: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-llamacpp-"));
  try {
    const spec = (await inspectGguf(TINY)).spec;
    const paths: string[] = [];
    for (const factor of factors) {
      const out = join(dir, `x${factor}.gguf`);
      await patchGguf({ source: TINY, plan: plan(spec, { factor }), out });
      paths.push(out);
    }
    return await fn(paths);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (judge) {
  test("llama.cpp loads the patched GGUF and reports the YaRN parameters we wrote", async () => {
    await withPatched([4], async ([out]) => {
      const info = await judge.readGgufFileInfo(out);
      const llama = info.metadata.llama as unknown as {
        context_length: number;
        rope: { scaling: { type: string; factor: number; original_context_length: number } };
      };
      assert.equal(llama.context_length, 1024);
      assert.deepEqual(
        { type: llama.rope.scaling.type, factor: llama.rope.scaling.factor, orig: llama.rope.scaling.original_context_length },
        { type: "yarn", factor: 4, orig: 256 },
      );
      const model = await (await judge.cpuLlama()).loadModel({ modelPath: out });
      try {
        assert.equal(model.trainContextSize, 1024);
        const loaded = model.fileInfo.metadata.llama as unknown as typeof llama;
        assert.equal(loaded.rope.scaling.type, "yarn");
        assert.equal(loaded.rope.scaling.factor, 4);
      } finally {
        await model.dispose();
      }
    });
  }, { timeoutMs: 120_000 });

  test("llama.cpp perplexity past the trained context recovers after patch --factor 2 (3 docs)", async () => {
    const docs = judge.loadEvalDocs(sharedPath("data/eval-docs.json")).slice(0, 3);
    await withPatched([2], async ([x2]) => {
      const trained = await cachedPerplexity(judge.llamaCppPerplexity, { modelPath: TINY, docs, length: 256 });
      const plain = await cachedPerplexity(judge.llamaCppPerplexity, { modelPath: TINY, docs, length: 512 });
      const yarn = await cachedPerplexity(judge.llamaCppPerplexity, { modelPath: x2, docs, length: 512 });
      console.log(`     llama.cpp ppl (3 docs): none@256 ${trained.perplexity.toFixed(3)}, none@512 ${plain.perplexity.toFixed(3)}, yarn x2@512 ${yarn.perplexity.toFixed(3)}`);
      assert.equal(yarn.tokens, 3 * 511);
      assert.ok(yarn.perplexity < 0.6 * plain.perplexity, "YaRN x2 recovers most of the loss past 256 tokens");
      assert.ok(yarn.perplexity < 1.1 * trained.perplexity, "YaRN x2 at 512 is about as good as plain RoPE at 256");
    });
  }, { timeoutMs: 300_000 });

  test("llama.cpp on a GGUF with rope_freqs.weight: the patched file computes the plan's plain YaRN; keeping the tensor would not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "yarnify-llamacpp-freqs-"));
    try {
      // The tiny model as a Llama 3.x GGUF: llama3 ×2 from its trained 256 tokens baked into rope_freqs.weight (as
      // convert_hf_to_gguf.py bakes Llama 3.1's), context_length 512, weights unchanged.
      const synth = join(dir, "tiny-llama3.gguf");
      const llama3Factors = convertLlama3Factors(64, 10000, 2, 256, 1, 4);
      await appendF32Tensor({ source: TINY, out: synth, name: "rope_freqs.weight", values: llama3Factors, u32: { "llama.context_length": 512 } });
      const spec = (await inspectGguf(synth)).spec;
      assert.deepEqual([spec.scaling.method, spec.scaling.factor, spec.scaling.originalContext], ["llama3", 2, 256]);
      const patched = join(dir, "patched.gguf");
      const planned = plan(spec, { factor: 4, force: true });
      const r = await patchGguf({ source: synth, plan: planned, out: patched });
      assert.deepEqual(r.tensors.map((t) => [t.name, t.values.every((v) => v === 1)]), [["rope_freqs.weight", true]]);
      // The same plan on the tensor-free tiny GGUF: plain YaRN ×4 from 256, what the patched file must compute.
      const reference = join(dir, "reference.gguf");
      const refPlan = plan((await inspectGguf(TINY)).spec, { factor: 4 });
      assert.deepEqual([refPlan.invFreq, refPlan.attentionFactor, refPlan.context], [planned.invFreq, planned.attentionFactor, planned.context]);
      await patchGguf({ source: TINY, plan: refPlan, out: reference });
      // The patched file with the llama3 factors put back: what llama.cpp would compute had the tensor been kept.
      const kept = join(dir, "kept.gguf");
      const bytes = readFileSync(patched);
      const source = await openLocalSource(patched);
      const h = await readGgufHeader(source).finally(() => source.close());
      const at = h.dataOffset + Number(h.tensorInfos.find((t) => t.name === "rope_freqs.weight")!.offset);
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, 4 * llama3Factors.length);
      llama3Factors.forEach((v, i) => view.setFloat32(4 * i, v, true));
      writeFileSync(kept, bytes);
      const docs = judge.loadEvalDocs(sharedPath("data/eval-docs.json")).slice(0, 2);
      const ppl = async (modelPath: string) => (await cachedPerplexity(judge.llamaCppPerplexity, { modelPath, docs, length: 512 })).perplexity;
      const [yarn, ref, keptPpl] = [await ppl(patched), await ppl(reference), await ppl(kept)];
      console.log(`     llama.cpp ppl @512 (2 docs): patched ${yarn.toFixed(6)}, plain-YaRN reference ${ref.toFixed(6)}, llama3 factors kept under YaRN ${keptPpl.toFixed(4)}`);
      assert.ok(Math.abs(yarn - ref) <= 1e-9 * ref, "the patched file computes the plan's YaRN exactly");
      // llama.cpp does apply the tensor under YaRN: had it been left, the result would differ.
      assert.ok(Math.abs(keptPpl - ref) > 1e-3 * ref, "keeping the llama3 factors under YaRN computes something else");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, { timeoutMs: 300_000 });
}
