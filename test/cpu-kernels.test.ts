// The CPU pass's SIMD kernels against plain double-precision loops on shapes that exercise their padding: dimensions
// that are not multiples of 4, a weight larger than one copied block, grouped heads, a sliding window, tiles cut short.
import assert from "node:assert/strict";
import { test } from "./support/harness.ts";
import { matmulT } from "../src/eval/cpu/matmul.ts";
import { causalAttention, type AttentionShape } from "../src/eval/cpu/ops.ts";
import { simdKernels } from "../src/eval/cpu/simd.ts";

// A fixed pseudo-random sequence in [-1, 1), so a failure reproduces.
function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
}

function assertClose(got: Float32Array, want: Float64Array, what: string, tol: number): void {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  assert.ok(worst < tol, `${what}: worst error ${worst}`);
}

test("cpu kernels: x·Wᵀ on odd shapes and on a weight split into blocks equals the double-precision product", () => {
  for (const [rows, inDim, outDim] of [[7, 13, 10], [1, 4, 4], [9, 256, 36], [3, 1030, 1100]] as const) {
    const x = values(rows * inDim, rows), w = values(outDim * inDim, inDim);
    const y = new Float32Array(rows * outDim);
    matmulT(x, w, rows, inDim, outDim, y);
    const want = new Float64Array(rows * outDim);
    for (let t = 0; t < rows; t++) for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i]! * w[o * inDim + i]!;
      want[t * outDim + o] = s;
    }
    assertClose(y, want, `${rows}×${inDim}·(${outDim}×${inDim})ᵀ`, 1e-5);
  }
});

test("cpu kernels: a product split over the threads equals the one-thread kernel bit for bit", () => {
  const k = simdKernels();
  // 67 column panels in chunks that do not divide them; large enough to be split where there are cores for it.
  const [M, N, K] = [64, 268, 132];
  const [a, b, c, ref] = k.layout(M * K, N * K, M * N, M * N);
  k.f32.set(values(M * K, 1), a!);
  k.f32.set(values(N * K, 2), b!);
  for (const accumulate of [0, 1]) {
    k.f32.set(values(M * N, 3), c!);
    k.f32.set(values(M * N, 3), ref!);
    k.gemm(a!, b!, c!, M, N, K, K, K, N, accumulate);
    // One 4-column panel per call is never split.
    for (let j = 0; j < N; j += 4) k.gemm(a!, b! + j * K, ref! + j, M, 4, K, K, K, N, accumulate);
    assert.deepEqual(k.f32.slice(c!, c! + M * N), k.f32.slice(ref!, ref! + M * N), `accumulate ${accumulate} on ${k.threads} threads`);
  }
});

/** Causal attention the obvious way: every score, a softmax per row in doubles. */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, a: AttentionShape): Float64Array {
  const { rows: L, heads, kvHeads, headDim: D, scale, window } = a;
  const out = new Float64Array(L * heads * D);
  for (let t = 0; t < L; t++) for (let h = 0; h < heads; h++) {
    const kv = Math.floor(h / (heads / kvHeads));
    const first = window > 0 ? Math.max(0, t - window + 1) : 0;
    const p: number[] = [];
    for (let s = first; s <= t; s++) {
      let dot = 0;
      for (let i = 0; i < D; i++) dot += q[(t * heads + h) * D + i]! * k[(s * kvHeads + kv) * D + i]!;
      p.push(dot * scale);
    }
    const max = Math.max(...p);
    const e = p.map((x) => Math.exp(x - max));
    const sum = e.reduce((x, y) => x + y, 0);
    for (let s = first; s <= t; s++) {
      for (let i = 0; i < D; i++) out[(t * heads + h) * D + i] += (e[s - first]! / sum) * v[(s * kvHeads + kv) * D + i]!;
    }
  }
  return out;
}

test("cpu kernels: tiled attention with the online softmax equals the naive softmax (grouped heads, odd head size, windows)", () => {
  for (const a of [
    { rows: 150, heads: 4, kvHeads: 2, headDim: 18, scale: 1 / Math.sqrt(18), window: 0 },
    { rows: 97, heads: 3, kvHeads: 1, headDim: 8, scale: 0.5, window: 37 },
    { rows: 5, heads: 2, kvHeads: 2, headDim: 64, scale: 0.125, window: 0 },
  ]) {
    const q = values(a.rows * a.heads * a.headDim, 1), k = values(a.rows * a.kvHeads * a.headDim, 2), v = values(a.rows * a.kvHeads * a.headDim, 3);
    // Scores several units apart, so the running maximum moves and the rescaling is exercised.
    for (let i = 0; i < q.length; i++) q[i] = q[i]! * 6;
    const out = new Float32Array(a.rows * a.heads * a.headDim);
    causalAttention(q, k, v, a, out);
    assertClose(out, naiveAttention(q, k, v, a), JSON.stringify(a), 1e-5);
  }
});
