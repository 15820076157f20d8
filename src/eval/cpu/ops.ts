// The row-wise pieces of the decoder forward pass on the CPU, float32 storage, as transformers computes them.
import { cosSinRow } from "../../core/rope/compute.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";

/** LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · weight, row by row (in place when out is x). */
export function rmsNorm(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number, out: Float32Array): void {
  for (let t = 0; t < rows; t++) {
    const base = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[base + i]! * x[base + i]!;
    const r = Math.fround(1 / Math.sqrt(Math.fround(ss / dim) + eps));
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

/**
 * Causal attention with grouped KV heads. q [rows, heads·D], k and v [rows, kvHeads·D], out [rows, heads·D].
 *
 * @example
 * causalAttention(q, k, v, { rows: L, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 }, out);
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, a: AttentionShape, out: Float32Array): void {
  const { rows, heads, kvHeads, headDim: D, scale, window } = a;
  const group = heads / kvHeads;
  const scores = new Float64Array(rows);
  const acc = new Float64Array(D);
  for (let h = 0; h < heads; h++) {
    const kh = Math.floor(h / group);
    for (let t = 0; t < rows; t++) {
      const qo = (t * heads + h) * D;
      const first = window > 0 ? Math.max(0, t - window + 1) : 0;
      let max = -Infinity;
      for (let s = first; s <= t; s++) {
        const ko = (s * kvHeads + kh) * D;
        let d = 0;
        for (let i = 0; i < D; i++) d += q[qo + i]! * k[ko + i]!;
        d *= scale;
        scores[s] = d;
        if (d > max) max = d;
      }
      acc.fill(0);
      let sum = 0;
      for (let s = first; s <= t; s++) {
        const p = Math.exp(scores[s]! - max);
        sum += p;
        const vo = (s * kvHeads + kh) * D;
        for (let i = 0; i < D; i++) acc[i] += p * v[vo + i]!;
      }
      for (let i = 0; i < D; i++) out[qo + i] = acc[i]! / sum;
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
