import type { EngineName, EngineView } from "../../types.ts";
import { llamacppView } from "./llamacpp.ts";
import { mlxView } from "./mlx.ts";
import { ortGenaiView } from "./ort-genai.ts";
import { hfRopeType } from "../hf-params.ts";
import { type StoredRope, transformersDict } from "./stored.ts";
import { transformersView } from "./transformers.ts";
import { vllmView } from "./vllm.ts";

export type { GgufRopeKeys, StoredRope } from "./stored.ts";
export { storedFromSpec } from "./stored.ts";
export { transformersSpec, transformersView } from "./transformers.ts";
export { ggufKeysFromHf, llamacppFromGguf, llamacppView } from "./llamacpp.ts";
export { vllmView } from "./vllm.ts";
export { ortGenaiView } from "./ort-genai.ts";
export { mlxView } from "./mlx.ts";
export { MROPE_READING, mropeOf, mropeReport } from "./mrope.ts";
export type { MropeReport, MropeSetup } from "./mrope.ts";

export const ENGINE_PROFILES: Record<EngineName, (s: StoredRope) => EngineView> = {
  transformers: (s) => transformersView(s),
  llamacpp: llamacppView,
  vllm: vllmView,
  ortGenai: ortGenaiView,
  mlx: mlxView,
};

/**
 * Every engine's reading of the same stored parameters.
 *
 * @example
 * const views = engineViews(info.stored);
 * console.log(views.vllm.attentionFactor, views.mlx.invFreq.length);
 */
export function engineViews(s: StoredRope): Record<EngineName, EngineView> {
  const out = {} as Record<EngineName, EngineView>;
  const proportional = hfRopeType(transformersDict(s)) === "proportional";
  for (const [name, profile] of Object.entries(ENGINE_PROFILES) as [EngineName, (s: StoredRope) => EngineView][]) {
    if (proportional && name !== "transformers") {
      // Gemma 4's proportional RoPE: only transformers' reading is modelled here; say so rather than guess.
      out[name] = { invFreq: [], attentionFactor: Number.NaN, warnings: [`${name}: yarnify does not model its reading of proportional RoPE (Gemma 4); check that engine's own output`] };
      continue;
    }
    try {
      out[name] = profile(s);
    } catch (err) {
      out[name] = { invFreq: [], attentionFactor: Number.NaN, warnings: [`${name} cannot read these parameters: ${(err as Error).message}`] };
    }
  }
  return out;
}
