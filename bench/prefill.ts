// The WebGPU evaluator's prefill of a GGUF as `eval` runs it (weights read layer by layer from the file, resident or
// streamed by the memory plan): one window of L tokens through every layer, scoring only the last token as a prefill
// does; prints one JSON line per length with tokens/s and the memory model's figures. The peers (llama.cpp CUDA,
// PyTorch eager) and the GPU's peak memory come from bench/gpu-machine/prefill.sh, which runs this in the same call.
//   deno run -A bench/prefill.ts <model.gguf> --lengths 4096,16384,32768 [--gpu-memory GiB] [--runs 1]
import { parseArgs } from "node:util";
import { gpuBackend } from "../src/eval/gpu/backend.ts";
import { gpuMemoryBudget, gpuMemoryNeed } from "../src/eval/gpu/memory.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { checkpointWeights } from "../src/eval/model/weights.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { lengths: { type: "string", default: "4096" }, "gpu-memory": { type: "string" }, runs: { type: "string", default: "1" } },
});
const model = positionals[0]!;
const lengths = values.lengths!.split(",").map(Number);
const budget = gpuMemoryBudget(values["gpu-memory"]);
const ck = await openCheckpoint(model);
try {
  const src = checkpointWeights(ck);
  const t0 = performance.now();
  const backend = await gpuBackend(src, { required: true, precision: "auto", model, maxTokens: Math.max(...lengths), ...(budget !== undefined && { memoryBudget: budget }) });
  const load = (performance.now() - t0) / 1000;
  try {
    // A first short window before anything is timed, as the peers warm up.
    await backend.nll({ tokens: Int32Array.from({ length: 16 }, (_, i) => i + 1), rope: modelRopeFor(ck.rope, "model", 16), firstTarget: 15 });
    for (const L of lengths) {
      // The same ids as bench/prefill-llamacpp.ts: within the tiny vocabulary every random GGUF starts with.
      const tokens = Int32Array.from({ length: L }, (_, i) => (i * 7919 + 13) % 4096);
      const rope = modelRopeFor(ck.rope, "model", L);
      let best = Infinity;
      for (let r = 0; r < Number(values.runs); r++) {
        const t = performance.now();
        await backend.nll({ tokens, rope, firstTarget: L - 1 });
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      const need = gpuMemoryNeed({ shape: ck.shape, tokens: L, weightType: /f16/.test(backend.name) ? "f16" : "f32", tiedEmbeddings: src.tied, logitRows: 1 });
      console.log(JSON.stringify({
        engine: "yarnify webgpu", backend: backend.name, model, tokens: L, seconds: +best.toFixed(3), tokensPerSecond: Math.round(L / best), loadSeconds: +load.toFixed(1),
        memoryModelGiB: +((/streamed/.test(backend.name) ? need.streamed : need.resident) / 2 ** 30).toFixed(2),
      }));
    }
  } finally {
    backend.release();
  }
} finally {
  await ck.close();
}
