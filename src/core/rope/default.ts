import { f32, posFreq } from "./float32.ts";

/**
 * Plain RoPE: inv_freq[j] = 1 / base^(2j/d), in float32 as transformers computes it.
 *
 * @example
 * defaultInvFreq(128, 10000)[1]; // 1 / 10000^(2/128)
 */
export function defaultInvFreq(dim: number, base: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < dim / 2; j++) out.push(f32(1 / posFreq(base, j, dim)));
  return out;
}

/**
 * Position interpolation (linear): every frequency divided by the factor.
 *
 * @example
 * linearInvFreq(128, 10000, 4); // defaultInvFreq(128, 10000) each ÷ 4
 */
export function linearInvFreq(dim: number, base: number, factor: number): number[] {
  return defaultInvFreq(dim, base).map((x) => f32(x / f32(factor)));
}

/**
 * NTK-aware scaling: the base grows to b·s^(d/(d−2)) so the lowest frequency is interpolated by s.
 *
 * @example
 * const invFreq = defaultInvFreq(128, ntkAwareBase(128, 10000, 4));
 */
export function ntkAwareBase(dim: number, base: number, factor: number): number {
  return base * Math.pow(factor, dim / (dim - 2));
}

/**
 * transformers' dynamic NTK base at a sequence length: b·((s·len/max) − (s−1))^(d/(d−2)),
 * with len clamped below at max_position_embeddings (so short inputs keep plain RoPE).
 *
 * @example
 * const base = dynamicNtkBase(128, 10000, 2, 4096, 8192);
 */
export function dynamicNtkBase(dim: number, base: number, factor: number, maxPositions: number, seqLen: number): number {
  const len = Math.max(seqLen, maxPositions);
  return base * Math.pow((factor * len) / maxPositions - (factor - 1), dim / (dim - 2));
}
