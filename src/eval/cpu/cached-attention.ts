// Attention of new rows over a K/V cache on the CPU: the decoding step (one row, or a few) after a prefill.
import type { AttentionShape } from "./ops.ts";

/**
 * Rows r of q [rows, heads·D] sit at positions past + r and see the cached keys and values k, v
 * [≥ past + rows, kvHeads·D] at positions past + r − window < s ≤ past + r (window 0: every earlier one);
 * out [rows, heads·D]. Scores, softmax and sums in double, as causalAttention computes them.
 *
 * @example
 * cachedAttention(q, cache.k, cache.v, { rows: 1, heads: 4, kvHeads: 2, headDim: 64, scale: 1 / 8, window: 0 }, 511, out);
 */
export function cachedAttention(q: Float32Array, k: Float32Array, v: Float32Array, a: AttentionShape, past: number, out: Float32Array): void {
  const { rows, heads, kvHeads, headDim: D, scale, window } = a;
  const group = heads / kvHeads;
  const scores = new Float64Array(past + rows);
  const acc = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const t = past + r;
    const first = window > 0 ? Math.max(0, t - window + 1) : 0;
    for (let h = 0; h < heads; h++) {
      const qo = (r * heads + h) * D;
      const kvh = Math.floor(h / group);
      let max = -Infinity;
      for (let s = first; s <= t; s++) {
        const ko = (s * kvHeads + kvh) * D;
        let dot = 0;
        for (let i = 0; i < D; i++) dot += q[qo + i]! * k[ko + i]!;
        scores[s] = dot * scale;
        if (scores[s]! > max) max = scores[s]!;
      }
      let sum = 0;
      acc.fill(0);
      for (let s = first; s <= t; s++) {
        const p = Math.exp(scores[s]! - max);
        sum += p;
        const vo = (s * kvHeads + kvh) * D;
        for (let i = 0; i < D; i++) acc[i] += p * v[vo + i]!;
      }
      for (let i = 0; i < D; i++) out[qo + i] = acc[i]! / sum;
    }
  }
}
