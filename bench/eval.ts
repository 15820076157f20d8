// Tokens per second of the evaluator's forward pass (one window → next-token NLLs) on the tiny model, against
// onnxruntime-node running the same model's ONNX export on the CPU, in the same process.
//   node dist/bench/eval.js [--lengths 1024,4096] [--runs 1] [--cpu] [--ort-python python3]
//   (also: bun bench/eval.ts, deno run -A bench/eval.ts)
// --cpu adds this project's float32 JavaScript CPU path. --ort-python runs the peer as Python's onnxruntime
// (bench/eval_ort.py, same native library and token ids) for machines without Node, such as the lent GPU one.
// Figures are for whatever adapter WebGPU finds (lavapipe on a machine without a GPU: source the env printed by
// .ci/setup-lavapipe.sh first).
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuBackend } from "../src/eval/cpu/forward.ts";
import { gpuBackend } from "../src/eval/gpu/backend.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import type { ForwardBackend } from "../src/eval/backend.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { sharedPath } from "../test/support/shared.ts";

const { values } = parseArgs({
  options: {
    lengths: { type: "string", default: "1024,4096" },
    runs: { type: "string", default: "1" },
    cpu: { type: "boolean", default: false },
    "ort-python": { type: "string" },
  },
});
const lengths = values.lengths!.split(",").map(Number);
const runs = Number(values.runs);
const dir = sharedPath("models/tiny-llama-py");
const checkpoint = await openCheckpoint(dir);
const weights = await loadWeights(checkpoint);
await checkpoint.close();
const config = checkpoint.shape;

// Token ids spread over the vocabulary: speed does not depend on the text.
const tokensOf = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % config.vocab);

async function timeBackend(b: ForwardBackend, n: number): Promise<number> {
  const tokens = tokensOf(n);
  const rope = modelRopeFor(checkpoint.rope, "yarn", n);
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await b.nll({ tokens, rope, firstTarget: 1 });
    best = Math.min(best, performance.now() - t0);
  }
  return n / (best / 1000);
}

interface OrtModule {
  InferenceSession: { create(path: string, opts?: object): Promise<{ run(feeds: object): Promise<Record<string, { data: unknown }>>; release(): Promise<void> }> };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => object;
}

async function timeOrt(ort: OrtModule, session: Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>, n: number): Promise<number> {
  const tokens = tokensOf(n);
  const feeds = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(tokens, (v) => BigInt(v)), [1, n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
  };
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
  }
  return n / (best / 1000);
}

const onnxPath = join(dir, "onnx/model.onnx");
const python = values["ort-python"];
// The peer's tokens per second per length: in this process (onnxruntime-node) or from bench/eval_ort.py.
let ortTokensPerSecond: (n: number) => Promise<number>;
let ortName: string;
let releaseOrt = async () => {};
if (python) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "eval_ort.py");
  const args = [script, onnxPath, "--lengths", lengths.join(","), "--runs", String(runs), "--vocab", String(config.vocab)];
  const peer = JSON.parse(execFileSync(python, args, { encoding: "utf8" })) as { onnxruntime: string; tokensPerSecond: Record<string, number> };
  ortTokensPerSecond = async (n) => peer.tokensPerSecond[String(n)]!;
  ortName = `onnxruntime ${peer.onnxruntime} (python) cpu`;
} else {
  const specifier = "onnxruntime-node";
  const ort = (await import(specifier)) as OrtModule;
  const session = await ort.InferenceSession.create(onnxPath);
  await timeOrt(ort, session, 64); // graph warm-up
  ortTokensPerSecond = (n) => timeOrt(ort, session, n);
  ortName = "onnxruntime-node cpu";
  releaseOrt = () => session.release();
}
const gpu = await gpuBackend(weights, { required: true, precision: "auto" });
const cpu = values.cpu ? cpuBackend(weights) : null;
console.log(`runtime ${runtimeName()}, model tiny-llama-py (6.8M params), best of ${runs} run(s)`);
console.log(`webgpu: ${gpu.name}`);
// Compile the pipelines before timing.
await timeBackend(gpu, 64);
for (const n of lengths) {
  const g = await timeBackend(gpu, n);
  const o = await ortTokensPerSecond(n);
  let line = `${n} tokens: webgpu ${g.toFixed(1)} tok/s, ${ortName} ${o.toFixed(1)} tok/s, webgpu/ort ${(g / o).toFixed(3)}`;
  if (cpu) {
    const c = await timeBackend(cpu, n);
    line += `, js cpu ${c.toFixed(1)} tok/s (js/ort ${(c / o).toFixed(3)})`;
  }
  console.log(line);
}
gpu.release();
await releaseOrt();
