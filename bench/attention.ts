// Fused flash-attention kernel (RoPE inside) against the three-pass WGSL baseline, measured in the
// same run on the same device. Prints times, the ratio, and TFLOP/s counted as 2·S²·D·H (causal).
//
//   deno run -A bench/attention.ts [--seq 1024,4096,8192] [--dim 64,128] [--heads 32] [--kv-heads 8]
//                                  [--reps 3] [--dtype f32|f16] [--baseline-max-seq 16384] [--unroll 0|1]
//                                  [--torch python3] [--chunk-dims 32|64] [--rows 4|8]
// Each figure is the best of 3 timings of --reps runs submitted back to back (so the wait for the
// queue, ~10 ms on Deno, is spread over the runs).
// --torch adds PyTorch's causal scaled_dot_product_attention (float32, TF32 off, enable_gqa) on the same
// GPU in the same run (bench/attention_torch.py, needs CUDA) and prints fused/torch speed ratios.
//   node dist/bench/attention.js ...      bun bench/attention.ts ...
// Without --seq: 1k–16k on a hardware adapter, a small set on a software one (lavapipe).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { describeAdapter, requestGpu } from "../kernels/gpu.ts";
import { prepareAttention, type PreparedAttention } from "../kernels/attention.ts";
import { prepareThreePassAttention } from "../kernels/three-pass.ts";
import { causalAttentionFlops, type AttentionDtype } from "../kernels/params.ts";
import { randomProblem, relativeMaxError } from "../test/support/attention-problems.ts";
import { runtimeName } from "../src/core/runtime.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seq: { type: "string" },
    dim: { type: "string", default: "64,128" },
    heads: { type: "string" },
    "kv-heads": { type: "string" },
    reps: { type: "string", default: "3" },
    dtype: { type: "string", default: "f32" },
    "baseline-max-seq": { type: "string", default: "16384" },
    // Constant loop bounds (driver unrolls); default on for hardware adapters, off on software ones.
    unroll: { type: "string" },
    torch: { type: "string" },
    "chunk-dims": { type: "string" },
    rows: { type: "string" },
  },
});
const list = (s: string) => s.split(",").map((x) => Number(x.trim()));

const gpu = await requestGpu({ powerPreference: "high-performance" });
const software = gpu.summary.software;
const seqs = values.seq ? list(values.seq) : software ? [256, 512, 1024] : [1024, 2048, 4096, 8192, 16384];
const dims = list(values.dim!);
const nHeads = Number(values.heads ?? (software ? 4 : 32));
const nKvHeads = Number(values["kv-heads"] ?? (software ? 2 : 8));
const reps = Number(values.reps);
const dtype = values.dtype as AttentionDtype;
const baselineMaxSeq = Number(values["baseline-max-seq"]);
const chunkDims = values["chunk-dims"] === undefined ? undefined : Number(values["chunk-dims"]);
const rowsPerThread = values.rows === undefined ? undefined : Number(values.rows);
const unrollLoops = values.unroll === undefined ? !software : values.unroll === "1" || values.unroll === "true";

console.log(`device: ${describeAdapter(gpu.summary)} [${gpu.summary.vendor} ${gpu.summary.architecture}] runtime: ${runtimeName()}`);
console.log(`heads ${nHeads} over ${nKvHeads} KV heads, dtype ${dtype}, causal, RoPE fused, unrolled loops: ${unrollLoops}; best of 3 timings of ${reps} back-to-back runs after a warm-up run, chunk dims ${chunkDims ?? "auto"}, rows per invocation ${rowsPerThread ?? "default"}`);
console.log("FLOPs counted as 2·S²·D·H (causal half of 4·S²·D·H)");
// The PyTorch peer runs first, in its own process, so the two never share the GPU's memory.
const torchMs: Record<string, Record<string, number>> = {};
if (values.torch) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "attention_torch.py");
  for (const headDim of dims) {
    const args = [script, "--seq", seqs.join(","), "--dim", String(headDim), "--heads", String(nHeads), "--kv-heads", String(nKvHeads), "--reps", String(reps)];
    const peer = JSON.parse(execFileSync(values.torch, args, { encoding: "utf8" })) as { device: string; torch: string; ms: Record<string, number> };
    if (headDim === dims[0]) console.log(`peer: torch ${peer.torch} scaled_dot_product_attention(is_causal, enable_gqa), float32, TF32 off, on ${peer.device}`);
    torchMs[headDim] = peer.ms;
  }
}
console.log(`seq\tdim\tfused ms\tfused TFLOP/s\t3-pass ms\t3-pass TFLOP/s\tratio\tmax rel diff${values.torch ? "\ttorch ms\ttorch TFLOP/s\tfused/torch" : ""}`);

async function time(prep: PreparedAttention): Promise<number> {
  prep.submit();
  await gpu.device.queue.onSubmittedWorkDone(); // warm-up: pipeline compile, first touch of memory
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) prep.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return best;
}

for (const headDim of dims) {
  for (const seq of seqs) {
    const p = randomProblem({ seq, nHeads, nKvHeads, headDim, maxPosition: Math.max(seq - 1, 4 * seq), seed: seq + headDim });
    const flops = causalAttentionFlops(seq, headDim, nHeads);
    const fused = await prepareAttention({ ...p, device: gpu.device, dtype, unrollLoops, chunkDims, rowsPerThread });
    const fusedMs = await time(fused);
    const fusedOut = await fused.read();
    fused.destroy();
    let baseMs = NaN;
    let diff = NaN;
    if (seq <= baselineMaxSeq) {
      const base = await prepareThreePassAttention({ ...p, device: gpu.device, unrollLoops });
      baseMs = await time(base);
      diff = relativeMaxError(fusedOut, await base.read());
      base.destroy();
    }
    const tf = (ms: number) => (flops / (ms * 1e-3) / 1e12).toPrecision(3);
    const cells = [seq, headDim, fusedMs.toFixed(1), tf(fusedMs), baseMs.toFixed(1), tf(baseMs), (baseMs / fusedMs).toFixed(2) + "x", diff.toExponential(1)];
    const peerMs = torchMs[headDim]?.[seq];
    if (peerMs !== undefined) cells.push(peerMs.toFixed(1), tf(peerMs), (peerMs / fusedMs).toFixed(2) + "x");
    console.log(cells.join("\t"));
  }
}
gpu.release();
