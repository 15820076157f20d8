// llama.cpp (node-llama-cpp, CPU, float32 K/V) judges the passkey and drift tasks on the tiny model's f32 GGUF
// patched with the same YaRN keys. Registered only where node-llama-cpp loads on this runtime.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { plan } from "../src/core/plan.ts";
import { seededRandom } from "../src/core/random.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { passkeyPrompt } from "../src/eval/passkey.ts";
import { cpuBackend } from "../src/eval/cpu/forward.ts";
import { drift, DriftAccumulator, greedy } from "../src/eval/tasks.ts";
import { test } from "./support/harness.ts";
import { judged, loadJudge } from "./support/judge-cache.ts";
import { sharedPath } from "./support/shared.ts";

const TINY = sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf");

const judge = await loadJudge("llama.cpp tests");

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

/** The two largest values of a row, as a gap: how close the greedy pick was to a tie. */
function topGap(values: Iterable<number>): number {
  let first = -Infinity, second = -Infinity;
  for (const x of values) {
    if (x > first) [first, second] = [x, first];
    else if (x > second) second = x;
  }
  return first - second;
}

/**
 * llama.cpp's greedy continuation of `prompt`, `count` tokens, with each step's top-2 gap in logits (the log of the
 * probability ratio, which the softmax leaves equal to the logits' difference).
 */
async function llamaGreedy(lc: Awaited<ReturnType<typeof exactContext>>, prompt: Int32Array, count: number) {
  const seq = lc.context.getSequence();
  const next = { generateNext: { probabilities: true } } as const;
  const tokens: number[] = [];
  const gaps: number[] = [];
  try {
    let input: unknown[] = [...Array.from(prompt.subarray(0, -1)), [prompt.at(-1)!, next]];
    while (tokens.length < count) {
      const out = await seq.controlledEvaluate(input as Parameters<typeof seq.controlledEvaluate>[0]);
      const probs = out[input.length - 1]!.next!.probabilities!;
      // The map is sorted from the most probable down: its first key is the greedy token.
      const token = probs.keys().next().value as number;
      tokens.push(token);
      gaps.push(topGap([...probs.values()].slice(0, 2).map(Math.log)));
      input = [[token, next]];
    }
  } finally {
    seq.dispose();
  }
  return { tokens, gaps };
}

// A trial is a near-tie when, at the first token where the two continuations differ, either engine's two most likely
// tokens were within this many logits of each other: float32 rounding in another order may flip such a pick.
const NEAR_TIE = 0.01;

// Prompts per length: with 10, "≥ 90% equal" allows one differing prompt (near-ties aside); the time is mostly our
// SIMD CPU prefills and llama.cpp's (its continuations come from the judge cache under test/all.sh after the first runtime).
const TRIALS = 10;

if (judge) {
  test(`greedy passkey continuations (K/V cache, 10 tokens) equal llama.cpp's in ≥ 90% of ${TRIALS} prompts at 2x and ${TRIALS} at 4x the trained context (YaRN x2, x4 GGUFs; near-ties aside)`, async () => {
    const newTokens = 10;
    for (const factor of [2, 4]) {
      const context = 256 * factor;
      await withPatched(factor, async (path) => {
        const ck = await openCheckpoint(path);
        const tok = ck.tokenizer();
        const backend = cpuBackend(await loadWeights(ck));
        await ck.close();
        const rope = modelRopeFor(ck.rope, "model", context);
        const random = seededRandom(19 + factor);
        const prompts = Array.from({ length: TRIALS }, () => passkeyPrompt(tok, context, { random }));
        // llama.cpp's context is made only when a continuation is not in the judge cache.
        let lc: Awaited<ReturnType<typeof exactContext>> | undefined;
        let same = 0, nearTies = 0;
        try {
          for (const p of prompts) {
            const ourGaps: number[] = [];
            const ours = await greedy(backend, p.tokens, rope, newTokens, (_step, logits) => ourGaps.push(topGap(logits)));
            const theirs = await judged("llama.cpp greedy", { files: [path], options: { prompt: Array.from(p.tokens), newTokens, contextSize: context + newTokens } }, async () =>
              llamaGreedy((lc ??= await exactContext(path, context + newTokens)), p.tokens, newTokens));
            const differ = ours.findIndex((t, i) => t !== theirs.tokens[i]);
            const tie = differ >= 0 && Math.min(ourGaps[differ]!, theirs.gaps[differ]!) < NEAR_TIE;
            if (differ < 0) same++;
            else if (tie) nearTies++;
            console.log(`     x${factor} key ${p.key}: ours ${JSON.stringify(tok.decode(ours))}, llama.cpp ${JSON.stringify(tok.decode(theirs.tokens))}${differ < 0 ? "" : ` (differ at ${differ}, gaps ${ourGaps[differ]!.toFixed(4)} / ${theirs.gaps[differ]!.toFixed(4)}${tie ? ": near-tie" : ""})`}`);
          }
        } finally {
          await lc?.dispose();
          backend.release();
        }
        const counted = prompts.length - nearTies;
        assert.ok(counted >= prompts.length / 2, `x${factor}: ${nearTies} of ${prompts.length} trials are near-ties`);
        assert.ok(same / counted >= 0.9, `x${factor}: ${same} of ${counted} continuations equal (${nearTies} near-ties aside)`);
      });
    }
  }, { timeoutMs: 300_000 });

  test("drift figures equal those from llama.cpp's probabilities on the same tokens within 1e-3 (2 windows of 256)", async () => {
    const docs = judge.loadEvalDocs(sharedPath("data/eval-docs.json")).slice(0, 2);
    await withPatched(2, async (x2) => {
      const ours = await drift({ model: x2, baseline: TINY, texts: docs.map((d) => d.text), contexts: [256], device: "cpu" });
      // The judge cache keeps llama.cpp's accumulated statistics, not its [tokens, vocab] distributions.
      const theirs = await judged("llama.cpp drift", { files: [TINY, x2], options: { docs: docs.map((d) => d.text), length: 256 } }, async () => {
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
        return { kl: acc.kl, nll: acc.nll, baseNll: acc.baseNll, agree: acc.agree, count: acc.count };
      });
      const r = ours.results[0]!;
      const kl = theirs.kl / theirs.count;
      const ppl = Math.exp(theirs.nll / theirs.count);
      const basePpl = Math.exp(theirs.baseNll / theirs.count);
      console.log(`     ours kl ${r.kl.toFixed(6)} ppl ${r.perplexity.toFixed(4)} base ${r.baselinePerplexity.toFixed(4)} top1 ${r.top1Agreement.toFixed(4)}; llama.cpp kl ${kl.toFixed(6)} ppl ${ppl.toFixed(4)} base ${basePpl.toFixed(4)} top1 ${(theirs.agree / theirs.count).toFixed(4)}`);
      assert.equal(r.tokens, theirs.count);
      assert.ok(r.kl > 0.001, "x2 YaRN moves the distribution at 256 tokens");
      assert.ok(Math.abs(r.kl - kl) < 1e-3, "KL");
      assert.ok(Math.abs(r.perplexity / ppl - 1) < 1e-3, "perplexity");
      assert.ok(Math.abs(r.baselinePerplexity / basePpl - 1) < 1e-3, "baseline perplexity");
      assert.ok(Math.abs(r.top1Agreement - theirs.agree / theirs.count) < 1e-3 + 1 / theirs.count, "top-1 agreement (a near-tie may flip one position)");
    });
  }, { timeoutMs: 300_000 });
}
