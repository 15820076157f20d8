// The row-wise pieces of the decoder forward pass on the CPU, float32 storage, as transformers computes them.
import { cosSinRow } from "../../core/rope/compute.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import { roundUp, simdKernels } from "./simd.ts";

/** LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · weight, row by row (in place when out is x). */
export function rmsNorm(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number, out: Float32Array): void {
  for (let t = 0; t < rows; t++) {
    const base = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[base + i]! * x[base + i]!;
    // In float32 like transformers (variance + eps is a float32 sum), so an eps read as float32 (GGUF) changes nothing.
    const r = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / dim) + Math.fround(eps))));
    for (let i = 0; i < dim; i++) out[base + i] = weight[i]! * Math.fround(x[base + i]! * r);
  }
}

/** cos and sin tables [positions, rotaryDim/2] (the two halves are equal), float32 like transformers'. */
export function ropeTables(rope: RopeFrequencies, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = rope.invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    const row = cosSinRow(rope, p);
    for (let j = 0; j < half; j++) {
      cos[p * half + j] = row.cos[j]!;
      sin[p * half + j] = row.sin[j]!;
    }
  }
  return { cos, sin };
}

/**
 * NeoX rotate-half RoPE in place on x [rows, heads·headDim]: in each head, pair (j, j + rotaryDim/2) rotates for
 * j < rotaryDim/2 (the tables' width) and dims from rotaryDim on pass through; row t is at position t.
 *
 * @example
 * const { cos, sin } = ropeTables(rope, L);
 * applyRope(q, L, heads, 64, cos, sin, 32); // Phi-style partial rotary: 32 of 64 dims rotate
 */
export function applyRope(x: Float32Array, rows: number, heads: number, headDim: number, cos: Float32Array, sin: Float32Array, rotaryDim = headDim): void {
  const half = rotaryDim / 2;
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let j = 0; j < half; j++) {
        const c = cos[t * half + j]!, s = sin[t * half + j]!;
        const a = x[base + j]!, b = x[base + j + half]!;
        x[base + j] = a * c - b * s;
        x[base + j + half] = b * c + a * s;
      }
    }
  }
}

export interface AttentionShape {
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies Q·Kᵀ (1/√headDim unless the family says otherwise). */
  scale: number;
  /** Query t sees keys t − window < s ≤ t; 0 means all earlier keys. */
  window: number;
}

// Query and key tiles of the blocked attention: a tile's scores (QUERY_TILE · group rows × KEY_TILE) and its K and
// V rows stay in L1/L2 while every query row of the tile is served.
const QUERY_TILE = 32;
const KEY_TILE = 64;

/**
 * Causal attention with grouped KV heads. q [rows, heads·D], k and v [rows, kvHeads·D], out [rows, heads·D].
 * Flash-style: query tiles against key tiles with an online softmax (running max and sum per row), so memory is
 * linear in rows (no rows² scores) and each K and V row loaded serves every query head of its group at once. Both
 * products (Q·Kᵀ and P·V) and the softmax step run in the SIMD kernels.
 *
 * @example
 * causalAttention(q, k, v, { rows: L, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 }, out);
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, a: AttentionShape, out: Float32Array): void {
  const { rows: L, heads, kvHeads, headDim: D, scale, window } = a;
  const group = heads / kvHeads;
  const x = simdKernels();
  const R = roundUp(QUERY_TILE * group, x.rows);
  const Dp = roundUp(D, 4);
  // A tile's last key rounds up to a multiple of 4: the padding past L is zeros.
  const Lp = roundUp(L, 4) + 4;
  // One KV head's K as rows [Lp, Dp] and V transposed [Dp, Lp] (the kernel's B operand of each product), zero padded.
  const [kh, vt, qb, sc, acc, m, l, lo, hi] = x.layout(Lp * Dp, Dp * Lp, R * Dp, R * KEY_TILE, R * Dp, R, R, R, R);
  x.f32.fill(0, kh!, sc!);
  for (let h = 0; h < kvHeads; h++) {
    // Element loops, not a set() per row: a row is too short to repay a subarray.
    const f = x.f32;
    for (let s = 0; s < L; s++) {
      const src = (s * kvHeads + h) * D;
      for (let i = 0; i < D; i++) {
        f[kh! + s * Dp + i] = k[src + i]!;
        f[vt! + i * Lp + s] = v[src + i]!;
      }
    }
    for (let t0 = 0; t0 < L; t0 += QUERY_TILE) {
      const tn = Math.min(QUERY_TILE, L - t0);
      const nr = tn * group;
      // Row r is token t0 + ⌊r / group⌋ of query head h·group + r mod group, pre-scaled; rows past nr see nothing.
      for (let r = 0; r < R; r++) {
        const t = t0 + Math.floor(r / group);
        if (r >= nr) {
          x.i32[lo! + r] = 0;
          x.i32[hi! + r] = -1;
          continue;
        }
        const src = (t * heads + h * group + (r % group)) * D;
        for (let i = 0; i < D; i++) x.f32[qb! + r * Dp + i] = q[src + i]! * scale;
        x.i32[lo! + r] = window > 0 ? Math.max(0, t - window + 1) : 0;
        x.i32[hi! + r] = t;
      }
      x.f32.fill(-Infinity, m!, m! + R);
      x.f32.fill(0, l!, l! + R);
      x.f32.fill(0, acc!, acc! + R * Dp);
      const rows = roundUp(nr, x.rows);
      const sFirst = window > 0 ? Math.max(0, t0 - window + 1) : 0;
      const sEnd = t0 + tn;
      for (let s0 = sFirst; s0 < sEnd; s0 += KEY_TILE) {
        const sn = Math.min(KEY_TILE, sEnd - s0);
        const sn4 = roundUp(sn, 4);
        x.gemm(qb!, kh! + s0 * Dp, sc!, rows, sn4, Dp, Dp, Dp, KEY_TILE, 0);
        x.softmaxStep(sc!, KEY_TILE, rows, sn, s0, lo!, hi!, m!, l!, acc!, Dp);
        x.gemm(sc!, vt! + s0, acc!, rows, Dp, sn4, KEY_TILE, Lp, Dp, 1);
      }
      for (let r = 0; r < nr; r++) {
        const t = t0 + Math.floor(r / group);
        const dst = (t * heads + h * group + (r % group)) * D;
        const inv = 1 / x.f32[l! + r]!;
        for (let i = 0; i < D; i++) out[dst + i] = x.f32[acc! + r * Dp + i]! * inv;
      }
    }
  }
}

/**
 * y[r, c] += b[c] for every row (a linear layer's bias).
 *
 * @example
 * addBias(q, layer.qBias); // Qwen2's Q bias on [tokens, heads·headDim]
 */
export function addBias(y: Float32Array, b: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + b[i % b.length]!;
}

/**
 * g = act(g) · u elementwise: SwiGLU's silu, or Gemma's GELU with the tanh approximation (gelu_pytorch_tanh).
 *
 * @example
 * gatedActivation(gate, up, shape.family.activation); // gate now holds the MLP's hidden activations
 */
export function gatedActivation(g: Float32Array, u: Float32Array, activation: "silu" | "gelu-tanh"): void {
  if (activation === "silu") {
    for (let i = 0; i < g.length; i++) {
      const a = g[i]!;
      g[i] = (a / (1 + Math.exp(-a))) * u[i]!;
    }
    return;
  }
  const c = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    g[i] = 0.5 * a * (1 + Math.tanh(c * (a + 0.044715 * a * a * a))) * u[i]!;
  }
}

/** Negative log-likelihood of `target` under the logits row (log-softmax in double). */
export function nllOfRow(logits: Float32Array, offset: number, vocab: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i]! - max);
  return Math.log(sum) + max - logits[offset + target]!;
}
