// llama.cpp's prefill of a GGUF through node-llama-cpp (the peer of bench/prefill.ts, run in the same call on the
// lent GPU machine): every layer on the GPU, flash attention, one context per length, the same token ids; prints one
// JSON line per length with tokens/s. Only node-llama-cpp and node: builtins, so the built file runs with the
// package's files alone.
//   node dist/bench/prefill-llamacpp.js <model.gguf> --lengths 4096,16384,32768 [--gpu cuda|false] [--runs 1]
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { lengths: { type: "string", default: "4096" }, gpu: { type: "string", default: "cuda" }, runs: { type: "string", default: "1" } },
});
const model = positionals[0]!;
const gpu = values.gpu === "false" ? false : (values.gpu as "cuda" | "vulkan");
const llama = await getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.error });
const loaded = await llama.loadModel({ modelPath: model, gpuLayers: gpu ? "max" : 0 });
// Ids within the tiny vocabulary that every random GGUF (bench/random-gguf.ts) starts with.
const VOCAB = 4096;
// A first short evaluation loads the backend's kernels before anything is timed (PyTorch's peer warms up too).
const warm = await loaded.createContext({ contextSize: 256, flashAttention: gpu !== false });
await warm.getSequence().evaluateWithoutGeneratingNewTokens(Array.from({ length: 16 }, (_, i) => i + 1) as Token[]);
await warm.dispose();
for (const L of values.lengths!.split(",").map(Number)) {
  // Batches of up to 2048 tokens, as llama-bench's default n_batch, micro-batches of 512.
  const ctx = await loaded.createContext({ contextSize: L, batchSize: Math.min(L, 2048), flashAttention: gpu !== false, sequences: 1 });
  let best = Infinity;
  try {
    for (let r = 0; r < Number(values.runs); r++) {
      const seq = ctx.getSequence();
      const tokens = Array.from({ length: L }, (_, i) => (i * 7919 + 13) % VOCAB) as Token[];
      const t0 = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(tokens);
      best = Math.min(best, (performance.now() - t0) / 1000);
      seq.dispose();
    }
  } finally {
    await ctx.dispose();
  }
  console.log(JSON.stringify({ engine: `llama.cpp ${gpu || "cpu"}`, model, tokens: L, seconds: +best.toFixed(3), tokensPerSecond: Math.round(L / best) }));
}
await loaded.dispose();
await llama.dispose();
