// torch computes RoPE tables in float32; rounding after every operation reproduces it bit for bit
// (rope-engines.md §8).
export const f32 = Math.fround;

/** `base ** (2j/d)` as torch computes it for a float32 exponent tensor. */
export function posFreq(base: number, j: number, dim: number): number {
  const e = f32(f32(2 * j) / f32(dim));
  return torchPowf(f32(base), e);
}

/**
 * The distance in float32 units in the last place between two float32 values.
 *
 * @example
 * ulpDistance(f32(0.1), f32(0.1) + 2 ** -27); // 1
 */
export function ulpDistance(a: number, b: number): number {
  const buf = new DataView(new ArrayBuffer(8));
  const ordered = (x: number): number => {
    buf.setFloat32(0, x);
    const bits = buf.getInt32(0);
    return bits < 0 ? -2147483648 - bits : bits;
  };
  return Math.abs(ordered(a) - ordered(b));
}

// ---------------------------------------------------------------------------------------------
// torch's float32 pow on x86 CPUs.
//
// `python_float ** float32_tensor` reaches ATen's pow_tensor_tensor_kernel, whose vectorised path
// (cpu_kernel_vec → vectorized_loop) calls Vectorized<float>::pow → Sleef_powf8_u10 (AVX2) or
// Sleef_powf16_u10 (AVX512). Both are SLEEF's `xpowf` from src/libm/sleefsimdsp.c, built with FMA
// (ENABLE_FMA_SP) and -ffp-contract=off, so every operation below is one float32 operation, and the
// double-float helpers are the FMA versions from src/libm/df.h. SLEEF's powf is faithful (< 1 ulp)
// but not correctly rounded, so it differs from Math.pow in a few inputs; this is a line-by-line
// port. The AVX512 build differs only in using getexp/getmant in logkf, which give the same values
// as the integer path for the normal, positive inputs reached here.

const F32_BUF = new DataView(new ArrayBuffer(8));

function floatBits(x: number): number {
  F32_BUF.setFloat32(0, x);
  return F32_BUF.getInt32(0);
}

function bitsFloat(i: number): number {
  F32_BUF.setInt32(0, i | 0);
  return F32_BUF.getFloat32(0);
}

/** The double next to `x` (a finite, non-zero double) in the direction of the sign of `dir`. */
function nextDoubleToward(x: number, dir: number): number {
  F32_BUF.setFloat64(0, x);
  let bits = F32_BUF.getBigUint64(0);
  // Moving away from zero increments the magnitude bits; toward zero decrements them.
  bits += (x > 0) === (dir > 0) ? 1n : -1n;
  F32_BUF.setBigUint64(0, bits);
  return F32_BUF.getFloat64(0);
}

/**
 * Single-precision fused multiply-add, fmaf(a, b, c), correctly rounded. a*b of two floats is exact
 * in double; the sum is rounded to odd at double precision (exact error term by two-sum), after
 * which a single rounding to float is correct.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return Math.fround(s);
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0 || s === 0) return Math.fround(s);
  F32_BUF.setFloat64(0, s);
  const odd = (F32_BUF.getUint32(4) & 1) === 1;
  return Math.fround(odd ? s : nextDoubleToward(s, err));
}

const f = Math.fround;
const fadd = (a: number, b: number): number => f(a + b);
const fsub = (a: number, b: number): number => f(a - b);
const fmul = (a: number, b: number): number => f(a * b);
/** vfmapn: x*y - z, fused. */
const fmapn = (x: number, y: number, z: number): number => fmaf(x, y, -z);
/** vfmanp: -x*y + z, fused. */
const fmanp = (x: number, y: number, z: number): number => fmaf(-x, y, z);

interface DF {
  x: number;
  y: number;
}

const df = (x: number, y: number): DF => ({ x, y });

function dfnormalize(t: DF): DF {
  const sx = fadd(t.x, t.y);
  return df(sx, fadd(fsub(t.x, sx), t.y));
}

function dfscale(d: DF, s: number): DF {
  return df(fmul(d.x, s), fmul(d.y, s));
}

/** dfadd2_vf2_vf_vf */
function dfadd2_f_f(x: number, y: number): DF {
  const rx = fadd(x, y);
  const v = fsub(rx, x);
  return df(rx, fadd(fsub(x, fsub(rx, v)), fsub(y, v)));
}

/** dfadd_vf2_vf_vf2 */
function dfadd_f_df(x: number, y: DF): DF {
  const rx = fadd(x, y.x);
  return df(rx, fadd(fadd(fsub(x, rx), y.x), y.y));
}

/** dfadd2_vf2_vf2_vf */
function dfadd2_df_f(x: DF, y: number): DF {
  const rx = fadd(x.x, y);
  const v = fsub(rx, x.x);
  let ry = fadd(fsub(x.x, fsub(rx, v)), fsub(y, v));
  ry = fadd(ry, x.y);
  return df(rx, ry);
}

/** dfadd_vf2_vf2_vf2 (|x| >= |y|) */
function dfadd_df_df(x: DF, y: DF): DF {
  const rx = fadd(x.x, y.x);
  return df(rx, fadd(fadd(fadd(fsub(x.x, rx), y.x), x.y), y.y));
}

/** dfadd2_vf2_vf2_vf2 */
function dfadd2_df_df(x: DF, y: DF): DF {
  const rx = fadd(x.x, y.x);
  const v = fsub(rx, x.x);
  let ry = fadd(fsub(x.x, fsub(rx, v)), fsub(y.x, v));
  ry = fadd(ry, fadd(x.y, y.y));
  return df(rx, ry);
}

/** dfdiv_vf2_vf2_vf2 (ENABLE_FMA_SP) */
function dfdiv(n: DF, d: DF): DF {
  const t = f(1 / d.x);
  const qx = fmul(n.x, t);
  const u = fmapn(t, n.x, qx);
  let qy = fmanp(d.y, t, fmanp(d.x, t, 1));
  qy = fmaf(qx, qy, fmaf(n.y, t, u));
  return df(qx, qy);
}

/** dfsqu_vf2_vf2 (ENABLE_FMA_SP) */
function dfsqu(x: DF): DF {
  const rx = fmul(x.x, x.x);
  return df(rx, fmaf(fadd(x.x, x.x), x.y, fmapn(x.x, x.x, rx)));
}

/** dfmul_vf2_vf2_vf2 (ENABLE_FMA_SP) */
function dfmul_df_df(x: DF, y: DF): DF {
  const rx = fmul(x.x, y.x);
  return df(rx, fmaf(x.x, y.y, fmaf(x.y, y.x, fmapn(x.x, y.x, rx))));
}

/** dfmul_vf2_vf2_vf (ENABLE_FMA_SP) */
function dfmul_df_f(x: DF, y: number): DF {
  const rx = fmul(x.x, y);
  return df(rx, fmaf(x.y, y, fmapn(x.x, y, rx)));
}

/** vrint_vi2_vf: cvtps2dq under the default rounding mode (nearest, ties to even). */
function rintToInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** vilogb2k_vi2_vf: the biased exponent field minus 127. */
function ilogb2k(d: number): number {
  return ((floatBits(d) >>> 23) & 0xff) - 0x7f;
}

/** vldexp3_vf_vf_vi2: adds q to the exponent field. */
function ldexp3(d: number, q: number): number {
  return bitsFloat((floatBits(d) + (q << 23)) | 0);
}

/** vldexp_vf_vf_vi2 */
function ldexpk(x: number, q: number): number {
  let m = q >> 31;
  m = (((m + q) >> 6) - m) << 4;
  q = q - (m << 2);
  m = m + 0x7f;
  m = m > 0 ? m : 0;
  m = m > 0xff ? 0xff : m;
  let u = bitsFloat(m << 23);
  x = fmul(fmul(fmul(fmul(x, u), u), u), u);
  u = bitsFloat((q + 0x7f) << 23);
  return fmul(x, u);
}

const FLT_MIN = 1.1754943508222875e-38;
const TWO64 = f(18446744073709551616);
const R_075 = f(1 / 0.75);
const LN2_HI = f(0.69314718246459960938);
const LN2_LO = f(-1.904654323148236017e-9);
const LOGK_C1 = f(0.240320354700088500976562);
const LOGK_C2 = f(0.285112679004669189453125);
const LOGK_C3 = f(0.400007992982864379882812);
const LOGK_CH = f(0.66666662693023681640625);
const LOGK_CL = f(3.69183861259614332084311e-9);
const R_LN2F = f(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2UF = f(0.693145751953125);
const L2LF = f(1.428606765330187045e-6);
const EXPK_C1 = f(0.00136324646882712841033936);
const EXPK_C2 = f(0.00836596917361021041870117);
const EXPK_C3 = f(0.0416710823774337768554688);
const EXPK_C4 = f(0.166665524244308471679688);
const EXPK_C5 = f(0.499999850988388061523438);

/** logkf: log(d) as a double-float. */
function logkf(d: number): DF {
  const o = d < FLT_MIN;
  if (o) d = fmul(d, TWO64);
  let e = ilogb2k(fmul(d, R_075));
  const m = ldexp3(d, -e);
  if (o) e -= 64;

  const x = dfdiv(dfadd2_f_f(-1, m), dfadd2_f_f(1, m));
  const x2 = dfsqu(x);

  let t = LOGK_C1;
  t = fmaf(t, x2.x, LOGK_C2);
  t = fmaf(t, x2.x, LOGK_C3);
  const c = df(LOGK_CH, LOGK_CL);

  let s = dfmul_df_f(df(LN2_HI, LN2_LO), f(e));
  s = dfadd_df_df(s, dfscale(x, 2));
  s = dfadd_df_df(s, dfmul_df_df(dfmul_df_df(x2, x), dfadd2_df_df(dfmul_df_f(x2, t), c)));
  return s;
}

/** expkf: exp of a double-float, as a float. */
function expkf(d: DF): number {
  let u = fmul(fadd(d.x, d.y), R_LN2F);
  const q = rintToInt(u);

  let s = dfadd2_df_f(d, fmul(f(q), -L2UF));
  s = dfadd2_df_f(s, fmul(f(q), -L2LF));
  s = dfnormalize(s);

  u = EXPK_C1;
  u = fmaf(u, s.x, EXPK_C2);
  u = fmaf(u, s.x, EXPK_C3);
  u = fmaf(u, s.x, EXPK_C4);
  u = fmaf(u, s.x, EXPK_C5);

  let t = dfadd_df_df(s, dfmul_df_f(dfsqu(s), u));
  t = dfadd_f_df(1, t);
  u = fadd(t.x, t.y);
  u = ldexpk(u, q);

  return d.x < -104 ? 0 : u;
}

/**
 * `x ** y` for float32 x and y exactly as SLEEF's Sleef_powf8_u10 / Sleef_powf16_u10 (xpowf,
 * FMA build) computes it, which is what torch's vectorised CPU pow kernel returns.
 */
export function torchPowf(x: number, y: number): number {
  x = f(x);
  y = f(y);
  const yisint = Math.trunc(y) === y || Math.abs(y) > 1 << 24;
  const yisodd = yisint && Math.abs(y) < 1 << 24 && (Math.trunc(y) & 1) === 1;

  let result = expkf(dfmul_df_f(logkf(Math.abs(x)), y));
  if (Number.isNaN(result)) result = Infinity;
  result = fmul(result, x > 0 ? 1 : yisint ? (yisodd ? -1 : 1) : NaN);

  // vmulsign(|x| - 1, y): flips the sign when y's sign bit is set.
  const ax1 = fsub(Math.abs(x), 1);
  const efx = y < 0 || Object.is(y, -0) ? -ax1 : ax1;
  if (y === Infinity || y === -Infinity) result = efx < 0 ? 0 : efx === 0 ? 1 : Infinity;

  if (x === Infinity || x === -Infinity || x === 0) {
    const sign = yisodd && (x < 0 || Object.is(x, -0)) ? -1 : 1;
    result = sign * ((x === 0 ? -y : y) < 0 ? 0 : Infinity);
  }
  if (Number.isNaN(x) || Number.isNaN(y)) result = NaN;
  if (y === 0 || x === 1) result = 1;
  return result;
}
