// cos/sin caches as the ORT GenAI builder stores them: [rows, d/2] (the first half of each cat(freqs, freqs)
// row), float32 like the builder, before the cast to the cache's dtype.
import { cosSinRow } from "../../src/rope/compute.ts";

export function ropeCaches(p: { invFreq: number[]; attentionFactor: number; rows: number }): { cos: Float32Array; sin: Float32Array } {
  const half = p.invFreq.length;
  const cos = new Float32Array(p.rows * half);
  const sin = new Float32Array(p.rows * half);
  const freqs = { invFreq: p.invFreq, attentionFactor: p.attentionFactor };
  for (let r = 0; r < p.rows; r++) {
    const row = cosSinRow(freqs, r);
    cos.set(row.cos.slice(0, half), r * half);
    sin.set(row.sin.slice(0, half), r * half);
  }
  return { cos, sin };
}
