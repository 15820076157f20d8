// cos/sin caches as the ORT GenAI builder stores them: [rows, d/2] (the first half of each cat(freqs, freqs)
// row), float32 like the builder, before the cast to the cache's dtype.
//
// The float32 recipe is src/core/rope/compute.ts cosSinRow's (angle = f32(inv·p), f32(f32(cos)·f32(af))), written as
// one loop because a 131072-row cache would otherwise allocate four arrays per row; test/onnx-caches.test.ts
// checks the two agree bit for bit.
export function ropeCaches(p: { invFreq: number[]; attentionFactor: number; rows: number }): { cos: Float32Array; sin: Float32Array } {
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
