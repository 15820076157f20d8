import { defaultInvFreq } from "./default.ts";
import { f32 } from "./float32.ts";

export interface Llama3Input {
  dim: number;
  base: number;
  factor: number;
  originalContext: number;
  lowFreqFactor: number;
  highFreqFactor: number;
}

/**
 * Llama 3.1's band-wise scaling: long wavelengths divided by the factor, short ones kept, a smooth band between.
 *
 * @example
 * llama3InvFreq({ dim: 128, base: 500000, factor: 8, originalContext: 8192, lowFreqFactor: 1, highFreqFactor: 4 });
 */
export function llama3InvFreq(input: Llama3Input): number[] {
  const { factor, originalContext: L, lowFreqFactor: lo, highFreqFactor: hi } = input;
  const lowFreqWavelen = L / lo;
  const highFreqWavelen = L / hi;
  return defaultInvFreq(input.dim, input.base).map((inv) => {
    const wavelen = f32(f32(2 * Math.PI) / inv);
    if (wavelen > lowFreqWavelen) return f32(inv / f32(factor));
    if (wavelen < highFreqWavelen) return inv;
    const smooth = f32(f32(f32(f32(L) / wavelen) - lo) / (hi - lo));
    return f32(f32(f32(1 - smooth) * f32(inv / f32(factor))) + f32(smooth * inv));
  });
}
