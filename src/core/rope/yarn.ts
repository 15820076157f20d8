// YaRN (arXiv 2309.00071) as transformers computes it; rope-engines.md §2.2 and §10.
import { f32, posFreq } from "./float32.ts";
import type { CorrectionRange, FrequencyBands } from "./types.ts";

export const DEFAULT_BETA_FAST = 32;
export const DEFAULT_BETA_SLOW = 1;

/**
 * √(1/t) = 0.1·m·ln(s) + 1 (1 when s ≤ 1).
 *
 * @example
 * getMscale(4); // 0.1·ln 4 + 1 ≈ 1.1386
 */
export function getMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/**
 * transformers' attention factor: explicit > DeepSeek mscale ratio > 0.1·ln(s)+1.
 *
 * @example
 * yarnAttentionFactor(40, { mscale: 1, mscaleAllDim: 1 }); // 1 (DeepSeek-V3)
 */
export function yarnAttentionFactor(
  factor: number,
  opts: { attentionFactor?: number; mscale?: number; mscaleAllDim?: number } = {},
): number {
  if (opts.attentionFactor !== undefined && opts.attentionFactor !== null) return opts.attentionFactor;
  if (opts.mscale && opts.mscaleAllDim) return getMscale(factor, opts.mscale) / getMscale(factor, opts.mscaleAllDim);
  return getMscale(factor);
}

/**
 * Pair index at which a frequency completes `rotations` turns over `context` positions (float64).
 *
 * @example
 * correctionDim(32, 128, 10000, 4096); // ≈ 20.9: pairs below it turn more than 32 times
 */
export function correctionDim(rotations: number, dim: number, base: number, context: number): number {
  return (dim * Math.log(context / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

/**
 * The pairs YaRN ramps between: from beta_fast rotations (kept) to beta_slow (interpolated), floored and ceiled unless `truncate` is false.
 *
 * @example
 * const range = correctionRange(128, 10000, 4096, 32, 1, true); // { low: 20, high: 46, ... }
 */
export function correctionRange(
  dim: number,
  base: number,
  originalContext: number,
  betaFast: number,
  betaSlow: number,
  truncate: boolean,
): CorrectionRange {
  const lowRaw = correctionDim(betaFast, dim, base, originalContext);
  const highRaw = correctionDim(betaSlow, dim, base, originalContext);
  const low = Math.max(truncate ? Math.floor(lowRaw) : lowRaw, 0);
  const high = Math.min(truncate ? Math.ceil(highRaw) : highRaw, dim - 1);
  return { lowRaw, highRaw, low, high };
}

/**
 * Ramp value γ(j) in [0, 1]: 0 keeps the trained frequency, 1 interpolates fully (torch float32 rounding).
 *
 * @example
 * rampAt(30, correctionRange(128, 10000, 4096, 32, 1, true));
 */
export function rampAt(j: number, range: CorrectionRange): number {
  const span = range.low === range.high ? range.high + 0.001 - range.low : range.high - range.low;
  const y = f32(f32(j - f32(range.low)) / f32(span));
  return Math.min(1, Math.max(0, y));
}

export interface YarnInput {
  dim: number;
  base: number;
  factor: number;
  originalContext: number;
  betaFast?: number;
  betaSlow?: number;
  truncate?: boolean;
}

/**
 * Per-pair YaRN inverse frequencies and the correction range they came from.
 *
 * @example
 * const { invFreq, correction } = yarnInvFreq({ dim: 128, base: 1e6, factor: 4, originalContext: 32768 });
 */
export function yarnInvFreq(input: YarnInput): { invFreq: number[]; correction: CorrectionRange } {
  const { dim, base, factor } = input;
  const correction = correctionRange(
    dim,
    base,
    input.originalContext,
    input.betaFast || DEFAULT_BETA_FAST,
    input.betaSlow || DEFAULT_BETA_SLOW,
    input.truncate ?? true,
  );
  const invFreq: number[] = [];
  for (let j = 0; j < dim / 2; j++) {
    const pos = posFreq(base, j, dim);
    const extrapolationWeight = f32(1 - rampAt(j, correction));
    const extrapolated = f32(1 / pos);
    const interpolated = f32(1 / f32(f32(factor) * pos));
    invFreq.push(f32(f32(interpolated * f32(1 - extrapolationWeight)) + f32(extrapolated * extrapolationWeight)));
  }
  return { invFreq, correction };
}

/**
 * Split pair indices into the bands the ramp defines.
 *
 * @example
 * const bands = frequencyBands(64, correctionRange(128, 10000, 4096, 32, 1, true));
 */
export function frequencyBands(pairs: number, range: CorrectionRange): FrequencyBands {
  let firstRamped = pairs;
  let firstInterpolated = pairs;
  for (let j = pairs - 1; j >= 0; j--) {
    const r = rampAt(j, range);
    if (r > 0) firstRamped = j;
    if (r >= 1) firstInterpolated = j;
  }
  return {
    extrapolated: [0, firstRamped],
    ramped: [firstRamped, firstInterpolated],
    interpolated: [firstInterpolated, pairs],
  };
}
