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

// Query and key tiles of the blocked attention: a tile's scores (QUERY_TILE · group rows × KEY_TILE, doubles) and
// its K and V rows stay in L1/L2 while every query row of the tile is served.
const QUERY_TILE = 32;
const KEY_TILE = 64;

/**
 * Causal attention with grouped KV heads. q [rows, heads·D], k and v [rows, kvHeads·D], out [rows, heads·D].
 * Flash-style: query tiles against key tiles with an online softmax (running max and sum per row), so memory is
 * linear in rows (no rows² scores) and each K and V row loaded serves every query head of its group at once.
 *
 * @example
 * causalAttention(q, k, v, { rows: L, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 }, out);
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, a: AttentionShape, out: Float32Array): void {
  const { rows: L, heads, kvHeads, headDim: D, scale, window } = a;
  const group = heads / kvHeads;
  const R = QUERY_TILE * group;
  // One KV head's K and V made contiguous (strided rows would cost a cache line per row of D floats).
  const kh = new Float32Array(L * D);
  const vh = new Float32Array(L * D);
  const qb = new Float64Array(R * D);
  const sc = new Float64Array(R * KEY_TILE);
  const acc = new Float64Array(R * D);
  const m = new Float64Array(R);
  const l = new Float64Array(R);
  const lo = new Int32Array(R);
  const hi = new Int32Array(R);
  for (let h = 0; h < kvHeads; h++) {
    for (let s = 0; s < L; s++) {
      const src = (s * kvHeads + h) * D;
      kh.set(k.subarray(src, src + D), s * D);
      vh.set(v.subarray(src, src + D), s * D);
    }
    for (let t0 = 0; t0 < L; t0 += QUERY_TILE) {
      const tn = Math.min(QUERY_TILE, L - t0);
      const nr = tn * group;
      // Row r is token t0 + ⌊r / group⌋ of query head h·group + r mod group, pre-scaled.
      for (let r = 0; r < nr; r++) {
        const t = t0 + Math.floor(r / group);
        const src = (t * heads + h * group + (r % group)) * D;
        for (let i = 0; i < D; i++) qb[r * D + i] = q[src + i]! * scale;
        lo[r] = window > 0 ? Math.max(0, t - window + 1) : 0;
        hi[r] = t;
      }
      m.fill(-Infinity);
      l.fill(0);
      acc.fill(0);
      const sFirst = window > 0 ? Math.max(0, t0 - window + 1) : 0;
      const sEnd = t0 + tn;
      for (let s0 = sFirst; s0 < sEnd; s0 += KEY_TILE) {
        const sn = Math.min(KEY_TILE, sEnd - s0);
        tileScores(qb, kh, nr, sn, s0, D, sc);
        for (let r = 0; r < nr; r++) {
          const j0 = Math.max(0, lo[r]! - s0), j1 = Math.min(sn, hi[r]! - s0 + 1);
          if (j1 <= j0) continue;
          const so = r * KEY_TILE;
          let mx = m[r]!;
          for (let j = j0; j < j1; j++) if (sc[so + j]! > mx) mx = sc[so + j]!;
          // Rescale what this row has gathered so far to the new running maximum.
          const c = Math.exp(m[r]! - mx);
          const ao = r * D;
          if (c !== 1) {
            for (let i = 0; i < D; i++) acc[ao + i] *= c;
          }
          let sum = l[r]! * c;
          for (let j = j0; j < j1; j++) {
            const p = Math.exp(sc[so + j]! - mx);
            sc[so + j] = p;
            sum += p;
          }
          l[r] = sum;
          m[r] = mx;
          accumulatePV(sc, so, j0, j1, vh, s0, D, acc, ao);
        }
      }
      for (let r = 0; r < nr; r++) {
        const t = t0 + Math.floor(r / group);
        const dst = (t * heads + h * group + (r % group)) * D;
        const inv = 1 / l[r]!;
        for (let i = 0; i < D; i++) out[dst + i] = acc[r * D + i]! * inv;
      }
    }
  }
}

/** sc[r·KEY_TILE + j] = qb row r · K row s0 + j, four rows by four keys per step (each load used four times). */
function tileScores(qb: Float64Array, kh: Float32Array, nr: number, sn: number, s0: number, D: number, sc: Float64Array): void {
  let r = 0;
  for (; r + 4 <= nr; r += 4) {
    const q0 = r * D, q1 = q0 + D, q2 = q1 + D, q3 = q2 + D;
    let j = 0;
    for (; j + 4 <= sn; j += 4) {
      const k0 = (s0 + j) * D, k1 = k0 + D, k2 = k1 + D, k3 = k2 + D;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let i = 0; i < D; i++) {
        const b0 = kh[k0 + i]!, b1 = kh[k1 + i]!, b2 = kh[k2 + i]!, b3 = kh[k3 + i]!;
        const c0 = qb[q0 + i]!, c1 = qb[q1 + i]!, c2 = qb[q2 + i]!, c3 = qb[q3 + i]!;
        a00 += c0 * b0; a01 += c0 * b1; a02 += c0 * b2; a03 += c0 * b3;
        a10 += c1 * b0; a11 += c1 * b1; a12 += c1 * b2; a13 += c1 * b3;
        a20 += c2 * b0; a21 += c2 * b1; a22 += c2 * b2; a23 += c2 * b3;
        a30 += c3 * b0; a31 += c3 * b1; a32 += c3 * b2; a33 += c3 * b3;
      }
      const o0 = r * KEY_TILE + j, o1 = o0 + KEY_TILE, o2 = o1 + KEY_TILE, o3 = o2 + KEY_TILE;
      sc[o0] = a00; sc[o0 + 1] = a01; sc[o0 + 2] = a02; sc[o0 + 3] = a03;
      sc[o1] = a10; sc[o1 + 1] = a11; sc[o1 + 2] = a12; sc[o1 + 3] = a13;
      sc[o2] = a20; sc[o2 + 1] = a21; sc[o2 + 2] = a22; sc[o2 + 3] = a23;
      sc[o3] = a30; sc[o3 + 1] = a31; sc[o3 + 2] = a32; sc[o3 + 3] = a33;
    }
    for (; j < sn; j++) for (let rr = r; rr < r + 4; rr++) sc[rr * KEY_TILE + j] = rowDot(qb, rr * D, kh, (s0 + j) * D, D);
  }
  for (; r < nr; r++) for (let j = 0; j < sn; j++) sc[r * KEY_TILE + j] = rowDot(qb, r * D, kh, (s0 + j) * D, D);
}

function rowDot(a: Float64Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i]! * b[bo + i]!;
  return s;
}

/** acc row += Σⱼ p[j] · V row s0 + j over j in [j0, j1), four keys per pass over the row (a quarter of its stores). */
function accumulatePV(p: Float64Array, po: number, j0: number, j1: number, vh: Float32Array, s0: number, D: number, acc: Float64Array, ao: number): void {
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    const p0 = p[po + j]!, p1 = p[po + j + 1]!, p2 = p[po + j + 2]!, p3 = p[po + j + 3]!;
    const v0 = (s0 + j) * D, v1 = v0 + D, v2 = v1 + D, v3 = v2 + D;
    for (let i = 0; i < D; i++) acc[ao + i] += p0 * vh[v0 + i]! + p1 * vh[v1 + i]! + p2 * vh[v2 + i]! + p3 * vh[v3 + i]!;
  }
  for (; j < j1; j++) {
    const pj = p[po + j]!, vo = (s0 + j) * D;
    for (let i = 0; i < D; i++) acc[ao + i] += pj * vh[vo + i]!;
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
