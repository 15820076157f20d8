import { f32, posFreq } from "./float32.ts";

export interface LongropeInput {
  dim: number;
  base: number;
  originalContext: number;
  shortFactor: number[];
  longFactor: number[];
  /** Sequence length; the long factors apply past the original context. */
  seqLen?: number;
}

/**
 * Phi-3's LongRoPE: a per-pair rescale factor, short or long set chosen by the sequence length.
 *
 * @example
 * const invFreq = longropeInvFreq({ dim: 96, base: 10000, originalContext: 4096, shortFactor, longFactor, seqLen: 8192 });
 */
export function longropeInvFreq(input: LongropeInput): number[] {
  const ext = input.seqLen !== undefined && input.seqLen > input.originalContext ? input.longFactor : input.shortFactor;
  const out: number[] = [];
  for (let j = 0; j < input.dim / 2; j++) out.push(f32(1 / f32(f32(ext[j]) * posFreq(input.base, j, input.dim))));
  return out;
}

/**
 * sqrt(1 + ln(s)/ln(L)), 1 when s ≤ 1.
 *
 * @example
 * longropeAttentionFactor(32, 4096); // √(1 + ln 32 / ln 4096) ≈ 1.19
 */
export function longropeAttentionFactor(factor: number, originalContext: number): number {
  return factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
}
