// RoPE inside WGSL, written once and shared by the fused and three-pass kernels.
//
// Angles are exact modulo one turn: the host stores each invFreq/(2π) as a 64-bit fixed-point
// fraction (hi, lo), the shader forms frac(position × that) with 32-bit integer products, and sin/cos
// come from polynomials on the nearest quadrant. WGSL's own sin/cos promise nothing outside [-π, π],
// and a float32 angle at position 32k is already off by ~0.002 rad, far above a 1e-4 check.

/** invFreq → [hi, lo] u32 pairs of frac(invFreq / 2π) · 2^64 (turns per position). */
export function encodeTurnsPerPosition(invFreq: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(2 * invFreq.length);
  for (let j = 0; j < invFreq.length; j++) {
    const turns = invFreq[j]! / (2 * Math.PI);
    const frac = turns - Math.floor(turns);
    const hi = Math.floor(frac * 2 ** 32);
    const lo = Math.floor((frac * 2 ** 32 - hi) * 2 ** 32);
    out[2 * j] = hi;
    out[2 * j + 1] = lo;
  }
  return out;
}

/**
 * WGSL: `rope_cos_sin(pos, f)` gives (cos, sin) of pos × invFreq for one pair whose fixed-point
 * turns are `f` (from encodeTurnsPerPosition). Accurate to ~1e-7 at any u32 position.
 */
export const ropeWgsl = /* wgsl */ `
// High 32 bits of a 32×32-bit product (WGSL has no mulhi).
fn mul_hi_u32(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p01 = a0 * b1; let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

fn rope_cos_sin(pos: u32, f: vec2<u32>) -> vec2<f32> {
  // Fraction of a turn in units of 2^-32; u32 wrap-around is the modulo.
  let t = pos * f.x + mul_hi_u32(pos, f.y);
  let quadrant = (t + 0x20000000u) >> 30u;
  let a = f32(bitcast<i32>(t - (quadrant << 30u))) * (1.5707963267948966 / 1073741824.0);
  let a2 = a * a;
  let s = a * (1.0 + a2 * (-0.16666666666666666 + a2 * (0.008333333333333333 + a2 * (-0.0001984126984126984 + a2 * 2.7557319223985893e-6))));
  let c = 1.0 + a2 * (-0.5 + a2 * (0.041666666666666664 + a2 * (-0.001388888888888889 + a2 * (2.48015873015873e-5 + a2 * -2.755731922398589e-7))));
  // Quadrant q: (c, s), (-s, c), (-c, -s), (s, -c), by selects: lanes of a workgroup sit in
  // different quadrants, and a switch would run its cases one after another.
  let odd = (quadrant & 1u) == 1u;
  let neg_x = ((quadrant + 1u) & 2u) == 2u;
  let neg_y = (quadrant & 2u) == 2u;
  let x = select(c, s, odd);
  let y = select(s, c, odd);
  return vec2<f32>(select(x, -x, neg_x), select(y, -y, neg_y));
}
`;

/**
 * WGSL: `rope_rotate(lo, hi, pos, c)` rotates the 4 pairs (4c..4c+3, 4c+R/2..) held in two vec4s.
 * Needs a storage binding `freq: array<vec2<u32>>` and an f32 expression for the attention factor.
 */
export function ropeRotateWgsl(attentionFactorExpr: string): string {
  return /* wgsl */ `
struct Rotated { lo: vec4<f32>, hi: vec4<f32> }

fn rope_rotate(lo: vec4<f32>, hi: vec4<f32>, pos: u32, c: u32) -> Rotated {
  var cs: vec4<f32>;
  var sn: vec4<f32>;
  for (var e = 0u; e < 4u; e++) {
    let r = rope_cos_sin(pos, freq[4u * c + e]);
    cs[e] = r.x;
    sn[e] = r.y;
  }
  cs *= ${attentionFactorExpr};
  sn *= ${attentionFactorExpr};
  return Rotated(lo * cs - hi * sn, hi * cs + lo * sn);
}
`;
}
