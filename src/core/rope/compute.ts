// One entry point for every method, given a RopeSpec: what transformers computes from it.
import { PlanError } from "../errors.ts";
import { defaultInvFreq, dynamicNtkBase, linearInvFreq, ntkAwareBase } from "./default.ts";
import { llama3InvFreq } from "./llama3.ts";
import { longropeAttentionFactor, longropeInvFreq } from "./longrope.ts";
import { trainedContext } from "./trained-context.ts";
import { posFreq } from "./float32.ts";
import type { RopeFrequencies, RopeSpec } from "./types.ts";
import { yarnAttentionFactor, yarnInvFreq } from "./yarn.ts";

export class RopeParameterError extends PlanError {
  override name = "RopeParameterError";
}

function need(value: number | undefined, what: string, method: string): number {
  if (value === undefined || !Number.isFinite(value)) throw new RopeParameterError(undefined, `${method} scaling needs ${what}`);
  return value;
}

/**
 * Frequencies and attention factor for a spec. `seqLen` matters for the length-dependent methods
 * (dynamic NTK, dynamic YaRN, longrope); it defaults to the spec's context.
 *
 * @example
 * const { invFreq, attentionFactor } = computeRope({ theta: 1e6, headDim: 128, rotaryDim: 128, context: 131072, originalContext: 32768, scaling: { method: "yarn", factor: 4 } });
 */
export function computeRope(spec: RopeSpec, opts: { seqLen?: number } = {}): RopeFrequencies {
  const { theta: base, rotaryDim: dim, scaling } = spec;
  const m = scaling.method;
  const L = trainedContext(spec);
  switch (m) {
    case "none":
      return { invFreq: defaultInvFreq(dim, base), attentionFactor: 1 };
    case "linear":
      return { invFreq: linearInvFreq(dim, base, need(scaling.factor, "a factor", m)), attentionFactor: 1 };
    case "ntk":
      return { invFreq: defaultInvFreq(dim, ntkAwareBase(dim, base, need(scaling.factor, "a factor", m))), attentionFactor: 1 };
    case "dynamic": {
      const b = dynamicNtkBase(dim, base, need(scaling.factor, "a factor", m), spec.context, opts.seqLen ?? spec.context);
      return { invFreq: defaultInvFreq(dim, b), attentionFactor: 1 };
    }
    case "yarn":
    case "dynamic-yarn": {
      const factor =
        m === "yarn" ? need(scaling.factor, "a factor", m) : Math.max(1, (opts.seqLen ?? spec.context) / L);
      const { invFreq } = yarnInvFreq({
        dim,
        base,
        factor,
        originalContext: L,
        betaFast: scaling.betaFast,
        betaSlow: scaling.betaSlow,
        truncate: scaling.truncate,
      });
      return { invFreq, attentionFactor: yarnAttentionFactor(factor, scaling) };
    }
    case "proportional": {
      // transformers' _compute_proportional_rope_parameters: 1/base^(2j/head_dim) for the rope_angles rotated pairs
      // (the rest are zeros, which leave their channels unrotated), then inv_freq /= factor.
      const factor = Math.fround(scaling.factor ?? 1);
      const invFreq: number[] = [];
      for (let j = 0; j < dim / 2; j++) invFreq.push(Math.fround(Math.fround(1 / posFreq(base, j, spec.headDim)) / factor));
      return { invFreq, attentionFactor: 1 };
    }
    case "llama3":
      return {
        invFreq: llama3InvFreq({
          dim,
          base,
          factor: need(scaling.factor, "a factor", m),
          originalContext: L,
          lowFreqFactor: need(scaling.lowFreqFactor, "low_freq_factor", m),
          highFreqFactor: need(scaling.highFreqFactor, "high_freq_factor", m),
        }),
        attentionFactor: 1,
      };
    case "longrope": {
      if (!scaling.shortFactor || !scaling.longFactor) throw new RopeParameterError(undefined, "longrope scaling needs short_factor and long_factor");
      const factor = scaling.factor ?? spec.context / L;
      return {
        invFreq: longropeInvFreq({ dim, base, originalContext: L, shortFactor: scaling.shortFactor, longFactor: scaling.longFactor, seqLen: opts.seqLen }),
        attentionFactor: scaling.attentionFactor ?? longropeAttentionFactor(factor, L),
      };
    }
  }
}

/**
 * cos and sin rows (cat(freqs, freqs) layout, times the attention factor) at one position, float32 as torch.
 *
 * @example
 * const { cos, sin } = cosSinRow(computeRope(spec), 4095);
 */
export function cosSinRow(freqs: RopeFrequencies, position: number): { cos: number[]; sin: number[] } {
  const f = Math.fround;
  const af = f(freqs.attentionFactor);
  const half = freqs.invFreq.map((inv) => f(inv * position));
  const cos = half.map((a) => f(f(Math.cos(a)) * af));
  const sin = half.map((a) => f(f(Math.sin(a)) * af));
  return { cos: [...cos, ...cos], sin: [...sin, ...sin] };
}
