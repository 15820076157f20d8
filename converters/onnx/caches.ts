// cos/sin caches as the ORT GenAI builder stores them: [rows, d/2], cos(p·inv[j])·attentionFactor,
// computed in float32 like the builder (angle rounded to f32, then the multiplier), before the dtype cast.
export function ropeCaches(p: { invFreq: ArrayLike<number>; attentionFactor: number; rows: number }): { cos: Float32Array; sin: Float32Array } {
  const half = p.invFreq.length;
  const f = Math.fround;
  const inv = Float32Array.from(p.invFreq);
  const af = f(p.attentionFactor);
  const cos = new Float32Array(p.rows * half);
  const sin = new Float32Array(p.rows * half);
  for (let r = 0; r < p.rows; r++) {
    for (let j = 0; j < half; j++) {
      const angle = f(inv[j] * r);
      cos[r * half + j] = f(Math.cos(angle)) * af;
      sin[r * half + j] = f(Math.sin(angle)) * af;
    }
  }
  return { cos, sin };
}
