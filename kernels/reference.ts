// Float64 CPU attention with RoPE applied to q and k: the truth the WGSL kernels are tested against,
// and the fallback when there is no GPU. O(S²·D·H): meant for the small problems a check needs.
import { checkProblem, type AttentionProblem } from "./params.ts";

/** Rotates one head's rows in place (float64): NeoX half layout, cos and sin scaled by attentionFactor. */
export function applyRope(params: {
  rows: Float64Array;
  seq: number;
  headDim: number;
  rotaryDim: number;
  positions: ArrayLike<number>;
  invFreq: ArrayLike<number>;
  attentionFactor: number;
}): void {
  const { rows, seq, headDim, rotaryDim, positions, invFreq, attentionFactor } = params;
  const half = rotaryDim / 2;
  for (let i = 0; i < seq; i++) {
    const base = i * headDim;
    for (let j = 0; j < half; j++) {
      const angle = positions[i]! * invFreq[j]!;
      const c = Math.cos(angle) * attentionFactor;
      const s = Math.sin(angle) * attentionFactor;
      const a = rows[base + j]!;
      const b = rows[base + j + half]!;
      rows[base + j] = a * c - b * s;
      rows[base + j + half] = b * c + a * s;
    }
  }
}

export function attentionReference(problem: AttentionProblem): Float64Array {
  const p = checkProblem(problem);
  const { seq, headDim: d, nHeads, nKvHeads, groupSize } = p;
  const rope = { seq, headDim: d, rotaryDim: p.rotaryDim, positions: p.positions, invFreq: p.invFreq, attentionFactor: p.attentionFactor };
  const headSize = seq * d;
  const keys: Float64Array[] = [];
  for (let kh = 0; kh < nKvHeads; kh++) {
    const rows = Float64Array.from(p.k.subarray(kh * headSize, (kh + 1) * headSize));
    applyRope({ rows, ...rope });
    keys.push(rows);
  }
  const out = new Float64Array(nHeads * headSize);
  const scores = new Float64Array(seq);
  for (let h = 0; h < nHeads; h++) {
    const kh = Math.floor(h / groupSize);
    const k = keys[kh]!;
    const v = p.v.subarray(kh * headSize, (kh + 1) * headSize);
    const q = Float64Array.from(p.q.subarray(h * headSize, (h + 1) * headSize));
    applyRope({ rows: q, ...rope });
    for (let i = 0; i < seq; i++) {
      const first = p.window ? Math.max(0, i - p.window + 1) : 0;
      let max = -Infinity;
      for (let j = first; j <= i; j++) {
        let dot = 0;
        for (let x = 0; x < d; x++) dot += q[i * d + x]! * k[j * d + x]!;
        scores[j] = dot * p.softmaxScale;
        if (scores[j]! > max) max = scores[j]!;
      }
      let sum = 0;
      for (let j = first; j <= i; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      const o = h * headSize + i * d;
      for (let j = first; j <= i; j++) {
        const w = scores[j]! / sum;
        for (let x = 0; x < d; x++) out[o + x] += w * v[j * d + x]!;
      }
    }
  }
  return out;
}
