// Greedy decoding with the K/V cache against recomputing the window for every new token (what passkey did before
// the cache), on the same prompt in the same run: the tiny model, 10 new tokens after prompts of 512 and 1024
// tokens, on the CPU (and on WebGPU with --gpu). Prints each one's seconds and the ratio, and checks that both
// decode the same tokens.
// Run: node_modules/.bin/bun bench/decode.ts [512,1024] [--gpu]   (or deno run -A bench/decode.ts; node after the build)
import { runtimeName } from "../src/core/runtime.ts";
import type { ForwardBackend } from "../src/eval/backend.ts";
import { cpuBackend } from "../src/eval/cpu/forward.ts";
import { gpuBackend } from "../src/eval/gpu/backend.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { passkeyPrompt } from "../src/eval/passkey.ts";
import { argmax, greedy } from "../src/eval/tasks.ts";
import { seededRandom } from "../src/core/random.ts";
import { sharedPath } from "../test/support/shared.ts";

const lengths = (process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "512,1024").split(",").map(Number);
const NEW_TOKENS = 10;
const ck = await openCheckpoint(sharedPath("models/tiny-llama-py"));
const tokenizer = ck.tokenizer();
const weights = await loadWeights(ck);
await ck.close();
const backend: ForwardBackend = process.argv.includes("--gpu") ? await gpuBackend(weights, { required: true, precision: "f32" }) : cpuBackend(weights);

/** Without a cache: the whole sequence through the forward pass for every new token, its last row's logits read. */
async function recompute(prompt: Int32Array, rope: ReturnType<typeof modelRopeFor>): Promise<number[]> {
  const seq = Array.from(prompt);
  const out: number[] = [];
  while (out.length < NEW_TOKENS) {
    let next = 0;
    await backend.logitRows({ tokens: Int32Array.from(seq), rope, firstRow: seq.length - 1 }, (_row, _n, logits) => {
      next = argmax(logits.subarray(0, weights.shape.vocab));
    });
    seq.push(next);
    out.push(next);
  }
  return out;
}

const seconds = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
};

console.log(`greedy decoding of ${NEW_TOKENS} tokens, K/V cache vs recomputing the window, ${backend.name} on ${runtimeName()}, tiny Llama`);
// Warm the JIT (and the pipelines) on a short prompt before timing.
await greedy(backend, passkeyPrompt(tokenizer, 128, { random: seededRandom(0) }).tokens, modelRopeFor(ck.rope, "yarn", 128), 2);
for (const L of lengths) {
  const prompt = passkeyPrompt(tokenizer, L, { random: seededRandom(L) }).tokens;
  const rope = modelRopeFor(ck.rope, "yarn", L);
  const [cached, cachedS] = await seconds(() => greedy(backend, prompt, rope, NEW_TOKENS));
  const [full, fullS] = await seconds(() => recompute(prompt, rope));
  const same = cached.join() === full.join();
  console.log(`prompt ${String(prompt.length).padStart(5)} tokens  cache ${cachedS.toFixed(2)} s  recompute ${fullS.toFixed(2)} s  speed-up ${(fullS / cachedS).toFixed(2)}x  ${same ? "same tokens" : "TOKENS DIFFER"}`);
}
backend.release();
