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

/** The llama3 parameters that reproduce a table of per-pair factors. */
export type Llama3Parameters = Omit<Llama3Input, "dim" | "base">;

// Published llama3 blocks: Llama 3.1/3.2/3.3 use low/high freq factor 1/4, Llama 4 uses 1/1; all train on 8192.
const LLAMA3_FREQ_FACTORS: ReadonlyArray<[number, number]> = [[1, 4], [1, 1]];
const ORIGINAL_CANDIDATES = [8192, ...Array.from({ length: 17 }, (_, k) => 2 ** (k + 8)).filter((L) => L !== 8192)];

/**
 * The llama3 parameters whose per-pair divisors (plain inv_freq ÷ llama3 inv_freq, what convert_hf_to_gguf.py stores
 * as `rope_freqs.weight`) equal `factors` within float32 rounding, or undefined. The factor is the last pair's divisor;
 * the original context is searched among 8192 and the powers of two (the divisors depend on it only through the
 * band edges, so the smallest match is reported), with the published low/high freq factors.
 *
 * @example
 * llama3FromFactors(ropeFreqs, 128, 500000); // Llama 3.1 8B: { factor: 8, originalContext: 8192, lowFreqFactor: 1, highFreqFactor: 4 }
 */
export function llama3FromFactors(factors: readonly number[], dim: number, base: number): Llama3Parameters | undefined {
  const factor = factors[factors.length - 1];
  if (factors.length !== dim / 2 || !(factor > 1)) return undefined;
  const plain = defaultInvFreq(dim, base);
  for (const [lowFreqFactor, highFreqFactor] of LLAMA3_FREQ_FACTORS) {
    for (const originalContext of ORIGINAL_CANDIDATES) {
      const p = { factor, originalContext, lowFreqFactor, highFreqFactor };
      const inv = llama3InvFreq({ dim, base, ...p });
      if (plain.every((x, j) => Math.abs(x / inv[j] - factors[j]) <= 1e-5 * factors[j])) return p;
    }
  }
  return undefined;
}
