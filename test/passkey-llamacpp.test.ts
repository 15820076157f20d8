// llama.cpp (node-llama-cpp, CPU, float32 K/V) judges the passkey and drift tasks on the tiny model's f32 GGUF
// patched with the same YaRN keys. Registered only where node-llama-cpp loads on this runtime.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { plan } from "../src/core/plan.ts";
import { seededRandom } from "../src/core/random.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { passkeyPrompt } from "../src/eval/passkey.ts";
import { drift, DriftAccumulator, greedyCpu } from "../src/eval/tasks.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

const TINY = sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf");

async function loadJudge() {
  try {
    const ppl = await import("../bench/llamacpp/perplexity.ts");
    await ppl.cpuLlama();
    return ppl;
  } catch (err) {
    console.log(`     llama.cpp tests not registered: node-llama-cpp does not load on ${runtimeName()} (${String((err as Error)?.message ?? err).split("\n")[0]})`);
    return undefined;
  }
}

const judge = await loadJudge();

async function withPatched<T>(factor: number, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-passkey-"));
  try {
    const out = join(dir, `x${factor}.gguf`);
    await patchGguf({ source: TINY, plan: plan((await inspectGguf(TINY)).spec, { factor }), out });
    return await fn(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** llama.cpp's context in its own float32 arithmetic (float32 K/V, no flash attention), one thread. */
async function exactContext(modelPath: string, size: number) {
  const llama = await judge!.cpuLlama();
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: size, batchSize: size, sequences: 1, threads: 1,
    flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  return { model, context, dispose: async () => { await context.dispose(); await model.dispose(); } };
}

if (judge) {
  test("greedy passkey continuations equal llama.cpp's at 2x the trained context (YaRN x2 GGUF, 3 prompts)", async () => {
    await withPatched(2, async (x2) => {
      const ck = await openCheckpoint(x2);
      const tok = ck.tokenizer();
      const weights = await loadWeights(ck);
      await ck.close();
      const rope = modelRopeFor(ck.rope, "model", 512);
      const newTokens = 6;
      const random = seededRandom(19);
      const prompts = [0, 1, 2].map(() => passkeyPrompt(tok, 512, { random }));
      const lc = await exactContext(x2, 512 + newTokens);
      let same = 0;
      try {
        for (const p of prompts) {
          const ours = greedyCpu(weights, p.tokens, rope, newTokens);
          const seq = lc.context.getSequence();
          const theirs: number[] = [];
          for await (const t of seq.evaluate(Array.from(p.tokens) as never, { temperature: 0 })) {
            theirs.push(t as number);
            if (theirs.length === newTokens) break;
          }
          seq.dispose();
          console.log(`     key ${p.key}: ours ${JSON.stringify(tok.decode(ours))}, llama.cpp ${JSON.stringify(tok.decode(theirs))}`);
          if (ours.join() === theirs.join()) same++;
        }
      } finally {
        await lc.dispose();
      }
      assert.ok(same / prompts.length >= 0.9, `${same} of ${prompts.length} continuations equal`);
    });
  }, { timeoutMs: 300_000 });

  test("drift figures equal those from llama.cpp's probabilities on the same tokens within 1e-3 (2 windows of 256)", async () => {
    const docs = judge.loadEvalDocs(sharedPath("data/eval-docs.json")).slice(0, 2);
    await withPatched(2, async (x2) => {
      const ours = await drift({ model: x2, baseline: TINY, texts: docs.map((d) => d.text), contexts: [256] });
      const base = await exactContext(TINY, 256);
      const patched = await exactContext(x2, 256);
      const acc = new DriftAccumulator();
      try {
        for (const doc of docs) {
          const ids = base.model.tokenize(doc.text).slice(0, 256);
          const dist = async (lc: typeof base) => {
            const seq = lc.context.getSequence();
            const input = ids.map((t, i) => (i < ids.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t));
            const out = await seq.controlledEvaluate(input as Parameters<typeof seq.controlledEvaluate>[0]);
            seq.dispose();
            return ids.slice(0, -1).map((_, i) => {
              const probs = out[i]!.next!.probabilities!;
              const row = new Float64Array(4096).fill(-Infinity);
              for (const [id, p] of probs) row[id as number] = Math.log(p);
              return row;
            });
          };
          const b = await dist(base);
          const p = await dist(patched);
          for (let i = 0; i < b.length; i++) acc.add(b[i]!, p[i]!, ids[i + 1] as number);
        }
      } finally {
        await base.dispose();
        await patched.dispose();
      }
      const r = ours.results[0]!;
      const kl = acc.kl / acc.count;
      const ppl = Math.exp(acc.nll / acc.count);
      const basePpl = Math.exp(acc.baseNll / acc.count);
      console.log(`     ours kl ${r.kl.toFixed(6)} ppl ${r.perplexity.toFixed(4)} base ${r.baselinePerplexity.toFixed(4)} top1 ${r.top1Agreement.toFixed(4)}; llama.cpp kl ${kl.toFixed(6)} ppl ${ppl.toFixed(4)} base ${basePpl.toFixed(4)} top1 ${(acc.agree / acc.count).toFixed(4)}`);
      assert.equal(r.tokens, acc.count);
      assert.ok(r.kl > 0.001, "x2 YaRN moves the distribution at 256 tokens");
      assert.ok(Math.abs(r.kl - kl) < 1e-3, "KL");
      assert.ok(Math.abs(r.perplexity / ppl - 1) < 1e-3, "perplexity");
      assert.ok(Math.abs(r.baselinePerplexity / basePpl - 1) < 1e-3, "baseline perplexity");
      assert.ok(Math.abs(r.top1Agreement - acc.agree / acc.count) < 1e-3 + 1 / acc.count, "top-1 agreement (a near-tie may flip one position)");
    });
  }, { timeoutMs: 300_000 });
}
