// The WGSL attention kernels against the float64 reference, on whatever WebGPU this runtime has
// (lavapipe in CI, from .ci/setup-lavapipe.sh). No adapter fails these tests unless
// YARNIFY_ALLOW_NO_GPU=1, so a machine without WebGPU cannot pass them silently.
import assert from "node:assert/strict";
import { test } from "./support/harness.ts";
import { DAWN_PACKAGE, describeAdapter, findGpu, NoGpuError, requestGpu, type Gpu } from "../kernels/gpu.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/cli-run.ts";
import { attention } from "../kernels/attention.ts";
import { attentionThreePass } from "../kernels/three-pass.ts";
import { attentionReference } from "../kernels/reference.ts";
import { AttentionUnsupportedError } from "../kernels/params.ts";
import { planHeadGroups } from "../kernels/head-groups.ts";
import { fromFloat16Bits, toFloat16Bits } from "../src/core/float16.ts";
import { randomProblem, relativeMaxError } from "./support/attention-problems.ts";

const F32_TOLERANCE = 1e-4;
// f16 storage rounds Q, K, V and the rotated K tile to 11 bits (relative 2^-11 ≈ 5e-4 each).
const F16_TOLERANCE = 5e-3;

let gpuPromise: Promise<Gpu | NoGpuError> | undefined;
/** The shared device, or undefined when there is none and YARNIFY_ALLOW_NO_GPU=1 says that is fine. */
async function gpuOrSkip(what: string): Promise<Gpu | undefined> {
  gpuPromise ??= findGpu().then((g) => {
    if (!(g instanceof NoGpuError)) console.log(`     adapter: ${describeAdapter(g.summary)}, shader-f16: ${g.f16}`);
    return g;
  });
  const g = await gpuPromise;
  if (!(g instanceof NoGpuError)) return g;
  if (process.env.YARNIFY_ALLOW_NO_GPU === "1") {
    console.log(`     SKIPPED (YARNIFY_ALLOW_NO_GPU=1): ${what}: ${g.message}`);
    return undefined;
  }
  throw new Error(`${g.message} (set YARNIFY_ALLOW_NO_GPU=1 to skip the GPU tests)`);
}

test("gpu: without the optional webgpu package, NoGpuError says how to install the version package.json names", async () => {
  const peer = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { peerDependencies: Record<string, string> }).peerDependencies;
  assert.equal(DAWN_PACKAGE, `webgpu@${peer.webgpu}`);
  const missing = Object.assign(new Error("Cannot find package 'webgpu' imported from /x/gpu.js"), { code: "ERR_MODULE_NOT_FOUND" });
  const bunMissing = new Error("Cannot find package 'webgpu' from '/x/gpu.js'");
  for (const err of [missing, bunMissing]) {
    await assert.rejects(requestGpu({ navigator: undefined, loadGpu: () => Promise.reject(err) }), (e: Error) => {
      assert.ok(e instanceof NoGpuError);
      assert.match(e.message, new RegExp(`navigator\\.gpu is absent and the optional \`webgpu\` package \\(Dawn\\) is not installed: npm install ${DAWN_PACKAGE}$`));
      return true;
    });
  }
  const broken = new Error("libvulkan.so.1: cannot open shared object file");
  await assert.rejects(requestGpu({ navigator: undefined, loadGpu: () => Promise.reject(broken) }), /webgpu` package \(Dawn\) failed to load: libvulkan/);
});

test("reference: one token attends only to itself, RoPE leaves v unchanged", () => {
  const p = randomProblem({ seq: 1, nHeads: 2, nKvHeads: 1, headDim: 16, maxPosition: 0 });
  const out = attentionReference({ ...p, positions: [12345] });
  assert.ok(relativeMaxError(out, [...p.v, ...p.v]) < 1e-12);
});

test("reference: a constant shift of all positions does not change attention (attention factor 1)", () => {
  const p = randomProblem({ seq: 12, nHeads: 2, nKvHeads: 2, headDim: 16, maxPosition: 500, factor: 1 });
  const a = attentionReference(p);
  const b = attentionReference({ ...p, positions: Array.from(p.positions, (x) => x + 7777) });
  assert.ok(relativeMaxError(b, a) < 1e-9, `shift changed the output by ${relativeMaxError(b, a)}`);
  // ...but changing one relative distance does.
  const c = attentionReference({ ...p, positions: Array.from(p.positions, (x, i) => (i === 11 ? x + 3 : x)) });
  assert.ok(relativeMaxError(c, a) > 1e-6);
});

test("float16 packing rounds to nearest even and round-trips", () => {
  const x = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1e6]);
  const back = fromFloat16Bits(toFloat16Bits(x));
  assert.deepEqual(Array.from(back), [0, -0, 1, -2.5, 65504, 1.1920928955078125e-7, 1, 1 + 2 ** -9, Infinity]);
});

test("head groups split to fit the binding limit, with GQA groups kept or split", () => {
  const base = { nHeads: 8, nKvHeads: 2, seq: 100, headDim: 64 };
  assert.deepEqual(planHeadGroups({ ...base, maxBindingBytes: 1 << 30 }), [{ kvHead: 0, kvCount: 2, qHead: 0, qCount: 8 }]);
  const perHead = 100 * 64 * 4;
  assert.deepEqual(planHeadGroups({ ...base, maxBindingBytes: 4 * perHead }), [
    { kvHead: 0, kvCount: 1, qHead: 0, qCount: 4 },
    { kvHead: 1, kvCount: 1, qHead: 4, qCount: 4 },
  ]);
  assert.equal(planHeadGroups({ ...base, maxBindingBytes: 3 * perHead }).length, 4);
  assert.throws(() => planHeadGroups({ ...base, maxBindingBytes: perHead - 1 }), AttentionUnsupportedError);
});

test("fused kernel f32, head dim 64, GQA 4:2, positions to 32k, matches float64 within 1e-4", async () => {
  const gpu = await gpuOrSkip("fused f32 d64");
  if (!gpu) return;
  const p = randomProblem({ seq: 150, nHeads: 4, nKvHeads: 2, headDim: 64, maxPosition: 32767, seed: 2 });
  const err = relativeMaxError(await attention({ ...p, device: gpu.device }), attentionReference(p));
  console.log(`     max abs error / output scale: ${err.toExponential(2)}`);
  assert.ok(err <= F32_TOLERANCE, `error ${err}`);
}, { timeoutMs: 240_000 });

test("fused kernel f32, head dim 128, partial rotary 64, GQA 4:1, positions to 128k, within 1e-4", async () => {
  const gpu = await gpuOrSkip("fused f32 d128");
  if (!gpu) return;
  const p = randomProblem({ seq: 70, nHeads: 4, nKvHeads: 1, headDim: 128, rotaryDim: 64, maxPosition: 131071, seed: 3 });
  const err = relativeMaxError(await attention({ ...p, device: gpu.device }), attentionReference(p));
  console.log(`     max abs error / output scale: ${err.toExponential(2)}`);
  assert.ok(err <= F32_TOLERANCE, `error ${err}`);
}, { timeoutMs: 240_000 });

test("fused kernel with 8 rows per invocation, head dim 96 (partial chunk and output columns), GQA 6:2, within 1e-4", async () => {
  const gpu = await gpuOrSkip("fused f32 rows 8 d96");
  if (!gpu) return;
  const p = randomProblem({ seq: 150, nHeads: 6, nKvHeads: 2, headDim: 96, maxPosition: 65535, seed: 7 });
  const reference = attentionReference(p);
  for (const rowsPerThread of [8, 4]) {
    const err = relativeMaxError(await attention({ ...p, device: gpu.device, rowsPerThread }), reference);
    console.log(`     ${rowsPerThread} rows per invocation: max abs error / output scale ${err.toExponential(2)}`);
    assert.ok(err <= F32_TOLERANCE, `rows ${rowsPerThread}: error ${err}`);
  }
  await assert.rejects(attention({ ...p, device: gpu.device, rowsPerThread: 6 }), AttentionUnsupportedError);
}, { timeoutMs: 240_000 });

test("fused kernel with a sliding window (1, 40, 70 and 64 keys: whole tiles skipped, rows with no key in a tile) within 1e-4", async () => {
  const gpu = await gpuOrSkip("fused f32 sliding window");
  if (!gpu) return;
  const p = randomProblem({ seq: 200, nHeads: 4, nKvHeads: 2, headDim: 64, seed: 5 });
  const full = attentionReference(p);
  for (const window of [1, 40, 70, 64]) {
    const want = attentionReference({ ...p, window });
    // The window must change the answer, or this test could pass with the window ignored.
    assert.ok(relativeMaxError(want, full) > 1e-2, `window ${window} changes nothing`);
    const err = relativeMaxError(await attention({ ...p, window, device: gpu.device }), want);
    console.log(`     window ${window}: max abs error / output scale ${err.toExponential(2)}`);
    assert.ok(err <= F32_TOLERANCE, `window ${window}: error ${err}`);
  }
}, { timeoutMs: 240_000 });

test("fused kernel splits heads over dispatches when a binding would exceed the limit", async () => {
  const gpu = await gpuOrSkip("fused split");
  if (!gpu) return;
  const p = randomProblem({ seq: 40, nHeads: 4, nKvHeads: 2, headDim: 64, maxPosition: 9000, seed: 4 });
  const out = await attention({ ...p, device: gpu.device, maxBindingBytes: 40 * 64 * 4 });
  assert.ok(relativeMaxError(out, attentionReference(p)) <= F32_TOLERANCE);
}, { timeoutMs: 240_000 });

test("three-pass kernel f32, head dim 64, GQA, matches float64 within 1e-4", async () => {
  const gpu = await gpuOrSkip("three-pass f32");
  if (!gpu) return;
  const p = randomProblem({ seq: 90, nHeads: 4, nKvHeads: 2, headDim: 64, maxPosition: 32767, seed: 5 });
  const err = relativeMaxError(await attentionThreePass({ ...p, device: gpu.device }), attentionReference(p));
  console.log(`     max abs error / output scale: ${err.toExponential(2)}`);
  assert.ok(err <= F32_TOLERANCE, `error ${err}`);
}, { timeoutMs: 240_000 });

test("fused kernel f16 (when the adapter has shader-f16) within 5e-3, else a clear refusal", async () => {
  const gpu = await gpuOrSkip("fused f16");
  if (!gpu) return;
  const p = randomProblem({ seq: 100, nHeads: 2, nKvHeads: 1, headDim: 64, maxPosition: 32767, seed: 6 });
  if (!gpu.f16) {
    await assert.rejects(attention({ ...p, device: gpu.device, dtype: "f16" }), AttentionUnsupportedError);
    console.log("     adapter lacks shader-f16: f16 path refused as expected");
    return;
  }
  const err = relativeMaxError(await attention({ ...p, device: gpu.device, dtype: "f16" }), attentionReference(p));
  console.log(`     max abs error / output scale: ${err.toExponential(2)}`);
  assert.ok(err <= F16_TOLERANCE, `error ${err}`);
}, { timeoutMs: 240_000 });

test("unsupported head dim is refused with a typed error", async () => {
  const gpu = await gpuOrSkip("unsupported head dim");
  if (!gpu) return;
  const p = randomProblem({ seq: 4, nHeads: 1, nKvHeads: 1, headDim: 12, rotaryDim: 8 });
  await assert.rejects(attention({ ...p, device: gpu.device }), AttentionUnsupportedError);
});

test("release the shared device", async () => {
  const g = await gpuPromise;
  if (g && !(g instanceof NoGpuError)) g.release();
});
