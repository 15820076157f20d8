// llama.cpp itself (node-llama-cpp 3.21.1, CPU) judges our GGUF output. Registered only where
// node-llama-cpp loads on this runtime; otherwise the run says so and counts nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { plan } from "../src/core/plan.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

const TINY = sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf");

async function loadJudge() {
  try {
    const ppl = await import("../bench/llamacpp/perplexity.ts");
    const { readGgufFileInfo } = await import("node-llama-cpp");
    await ppl.cpuLlama();
    return { ...ppl, readGgufFileInfo };
  } catch (err) {
    console.log(`     llama.cpp tests not registered: node-llama-cpp does not load on ${runtimeName()} (${String((err as Error)?.message ?? err).split("\n")[0]})`);
    return undefined;
  }
}

const judge = await loadJudge();

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
      const trained = await judge.llamaCppPerplexity({ modelPath: TINY, docs, length: 256 });
      const plain = await judge.llamaCppPerplexity({ modelPath: TINY, docs, length: 512 });
      const yarn = await judge.llamaCppPerplexity({ modelPath: x2, docs, length: 512 });
      console.log(`     llama.cpp ppl (3 docs): none@256 ${trained.perplexity.toFixed(3)}, none@512 ${plain.perplexity.toFixed(3)}, yarn x2@512 ${yarn.perplexity.toFixed(3)}`);
      assert.equal(yarn.tokens, 3 * 511);
      assert.ok(yarn.perplexity < 0.6 * plain.perplexity, "YaRN x2 recovers most of the loss past 256 tokens");
      assert.ok(yarn.perplexity < 1.1 * trained.perplexity, "YaRN x2 at 512 is about as good as plain RoPE at 256");
    });
  }, { timeoutMs: 300_000 });
}
