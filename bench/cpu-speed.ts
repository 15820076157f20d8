// The CPU evaluator's speed against ONNX Runtime's CPU session on the same tokens: the tiny model's tokens/s at
// 1024 and 4096 tokens (one window each: the forward pass and every position's NLL), ratio yarnify / ORT; and the CPU
// seconds each side spent (ORT's over its threads), which a shared host's load does not inflate as it does wall time.
// Run: node_modules/.bin/bun bench/cpu-speed.ts   (or deno run -A bench/cpu-speed.ts; node after the build)
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { runtimeName } from "../src/core/runtime.ts";
import { nllCpu } from "../src/eval/cpu/forward.ts";
import { simdKernels } from "../src/eval/cpu/simd.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { loadDocs } from "../test/support/onnx-perplexity.ts";
import { sharedPath } from "../test/support/shared.ts";

const lengths = (process.argv[2] ?? "1024,4096").split(",").map(Number);
const modelDir = sharedPath("models/tiny-llama-py");
const ck = await openCheckpoint(modelDir);
const tokenizer = ck.tokenizer();
const weights = await loadWeights(ck);
await ck.close();
// The documents' tokens end to end, so every length has real text.
const all: number[] = [];
for (const d of loadDocs(sharedPath("data/eval-docs.json"))) {
  if (all.length >= Math.max(...lengths)) break;
  all.push(...tokenizer.encode(d.text));
}

const session = await ort.InferenceSession.create(join(modelDir, "onnx/model.onnx"), { logSeverityLevel: 3, intraOpNumThreads: 2 });

async function ortNll(ids: number[]): Promise<number> {
  const n = ids.length;
  const out = await session.run({
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [1, n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
  });
  const logits = out.logits!.data as Float32Array;
  const vocab = logits.length / n;
  let nll = 0;
  for (let t = 1; t < n; t++) {
    let max = -Infinity;
    const o = (t - 1) * vocab;
    for (let i = 0; i < vocab; i++) if (logits[o + i]! > max) max = logits[o + i]!;
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(logits[o + i]! - max);
    nll += Math.log(sum) + max - logits[o + ids[t]!]!;
  }
  return nll / (n - 1);
}

/** CPU seconds (user + system, every thread of the process) since `from`: the work done, whatever else the host runs. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

console.log(`cpu evaluator vs onnxruntime-node (2 intra-op threads) on ${runtimeName()} (${simdKernels().threads} threads), tiny Llama, one window per length`);
// Warm both (JIT, ORT's allocator) on a short window before timing.
nllCpu(weights, { tokens: Int32Array.from(all.slice(0, 64)), rope: modelRopeFor(ck.rope, "none", 64), firstTarget: 1 });
await ortNll(all.slice(0, 64));
for (const L of lengths) {
  const ids = all.slice(0, L);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const mean = await ortNll(ids);
  const ortS = (performance.now() - t0) / 1000;
  const ortCpu = cpuSeconds(c0);
  t0 = performance.now();
  c0 = process.cpuUsage();
  const nll = nllCpu(weights, { tokens: Int32Array.from(ids), rope: modelRopeFor(ck.rope, "none", L), firstTarget: 1 });
  const ourS = (performance.now() - t0) / 1000;
  const ourCpu = cpuSeconds(c0);
  const ours = nll.reduce((a, b) => a + b, 0) / nll.length;
  console.log(`L=${String(L).padEnd(5)} yarnify ${(L / ourS).toFixed(0).padStart(6)} tok/s  ORT ${(L / ortS).toFixed(0).padStart(6)} tok/s  ratio ${(ortS / ourS).toFixed(3)}  CPU s ${ourCpu.toFixed(2)} vs ${ortCpu.toFixed(2)}  mean NLL ${ours.toFixed(5)} vs ${mean.toFixed(5)}`);
}
await session.release();
