// mlx-lm rope_utils (rope-engines.md §6): reads only rope_scaling, `type` first, original context defaults to
// 4096, mscale ratio with defaults 1/0, no truncate or attention_factor, frequencies in wavelength form.
import { defaultInvFreq, linearInvFreq } from "../default.ts";
import { f32, posFreq } from "../float32.ts";
import { mlxRopeType, scalingFromHfDict } from "../hf-params.ts";
import { correctionRange, getMscale } from "../yarn.ts";
import type { EngineView } from "../../types.ts";
import type { StoredRope } from "./stored.ts";
import { transformersView } from "./transformers.ts";

/**
 * mlx-lm's reading of stored parameters (it reads rope_scaling only and assumes an original context of 4096 when the key is missing).
 *
 * @example
 * console.log(mlxView(info.stored).warnings);
 */
export function mlxView(s: StoredRope): EngineView {
  const warnings: string[] = [];
  const dict = s.ropeScaling;
  if (!dict && s.ropeParameters && (s.ropeParameters["rope_type"] ?? "default") !== "default") {
    warnings.push("mlx-lm reads only rope_scaling: the rope_parameters scaling is ignored (plain RoPE)");
  }
  const type = mlxRopeType(dict);
  const dim = s.rotaryDim;
  if (["default", "mrope"].includes(type)) return { invFreq: defaultInvFreq(dim, s.theta), attentionFactor: 1, warnings };
  const p = scalingFromHfDict(dict, type === "deepseek_yarn" || type === "telechat3-yarn" ? "yarn" : type);
  if (type === "linear") return { invFreq: linearInvFreq(dim, s.theta, p.factor ?? 1), attentionFactor: 1, warnings };
  if (type === "llama3" || type === "longrope" || type === "su") return { ...transformersView(s), warnings };
  if (p.method !== "yarn") {
    warnings.push(`mlx-lm has no ${type} scaling`);
    return { invFreq: defaultInvFreq(dim, s.theta), attentionFactor: 1, warnings };
  }
  const factor = p.factor ?? 1;
  if (p.originalContext === undefined) warnings.push("no original_max_position_embeddings: mlx-lm assumes 4096");
  if (p.truncate === false) warnings.push("mlx-lm ignores truncate: false (always floors/ceils)");
  if (p.attentionFactor !== undefined) warnings.push("mlx-lm ignores attention_factor");
  const range = correctionRange(dim, s.theta, p.originalContext ?? 4096, p.betaFast ?? 32, p.betaSlow ?? 1, true);
  const span = range.low === range.high ? range.high + 0.001 - range.low : range.high - range.low;
  const invFreq: number[] = [];
  for (let j = 0; j < dim / 2; j++) {
    const extra = posFreq(s.theta, j, dim);
    const inter = f32(f32(factor) * extra);
    const mask = f32(1 - Math.min(1, Math.max(0, f32(f32(j - range.low) / f32(span)))));
    const wavelength = f32(f32(inter * extra) / f32(f32(inter * mask) + f32(extra * f32(1 - mask))));
    invFreq.push(f32(1 / wavelength));
  }
  const attentionFactor = getMscale(factor, p.mscale ?? 1) / getMscale(factor, p.mscaleAllDim ?? 0);
  return { invFreq, attentionFactor, warnings };
}
