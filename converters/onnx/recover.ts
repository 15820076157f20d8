// Recovers plain-RoPE parameters from stored values: theta and the rotary dim from an inv_freq vector,
// and inv_freq plus the attention factor from cos/sin caches. The inverse of what exporters compute.
import { DT_BFLOAT16, DT_FLOAT16 } from "./tensor.ts";

/** Relative tolerance for a stored value of this dtype (a few units in the last place). */
export function valueTolerance(dataType: number): number {
  if (dataType === DT_BFLOAT16) return 1.6e-2;
  if (dataType === DT_FLOAT16) return 2e-3;
  return 2e-5;
}

export type ThetaFit = { ok: true; theta: number; rotaryDim: number } | { ok: false; reason: string };

/**
 * inv_freq[j] = theta^(-2j/d) with d = 2·len: fits theta by least squares on the logs, snaps it to a round value
 * when the data allow, and checks every entry within `tol`.
 */
export function fitTheta(invFreq: ArrayLike<number>, tol: number): ThetaFit {
  const n = invFreq.length;
  if (n < 2) return { ok: false, reason: "fewer than 2 values" };
  const d = 2 * n;
  if (Math.abs(invFreq[0] - 1) > tol) return { ok: false, reason: `first value ${invFreq[0]} is not 1` };
  // log inv[j] = -(2j/d)·log theta: a line through the origin in x = 2j/d.
  let sxx = 0;
  let sxy = 0;
  for (let j = 1; j < n; j++) {
    if (!(invFreq[j] > 0)) return { ok: false, reason: `value ${j} is not positive` };
    const x = (2 * j) / d;
    sxx += x * x;
    sxy += x * -Math.log(invFreq[j]);
  }
  let theta = Math.exp(sxy / sxx);
  if (!(theta > 1) || !Number.isFinite(theta)) return { ok: false, reason: "values do not decrease" };
  for (const digits of [2, 3, 4, 5, 6]) {
    const round = Number(theta.toPrecision(digits));
    if (Math.abs(round / theta - 1) < tol / 4) {
      theta = round;
      break;
    }
  }
  for (let j = 0; j < n; j++) {
    const expected = theta ** (-(2 * j) / d);
    const rel = Math.abs(invFreq[j] / expected - 1);
    // Low-precision storage loses relative precision only through rounding, so `tol` holds for every entry.
    if (rel > tol) return { ok: false, reason: `value ${j} is ${invFreq[j]}, a geometric series in theta ${theta} gives ${expected}` };
  }
  return { ok: true, theta, rotaryDim: d };
}

/**
 * From caches cos[p][j] = cos(p·inv[j])·m and sin[p][j] = sin(p·inv[j])·m ([rows, half], row-major):
 * m = cos[0][0], and inv[j] = atan2(sin, cos)/p at the row where the angle is near 1.5 rad (best precision, no wrap).
 */
export function invFreqFromCaches(cos: Float64Array, sin: Float64Array, rows: number, half: number): { invFreq: number[]; attentionFactor: number } {
  const attentionFactor = cos[0];
  const invFreq: number[] = [];
  for (let j = 0; j < half; j++) {
    const first = Math.atan2(sin[half + j], cos[half + j]);
    const p = first > 0 ? Math.max(1, Math.min(rows - 1, Math.floor(1.5 / first))) : 1;
    invFreq.push(Math.atan2(sin[p * half + j], cos[p * half + j]) / p);
  }
  return { invFreq, attentionFactor };
}
