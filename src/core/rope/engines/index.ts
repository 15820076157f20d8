import type { EngineName, EngineView } from "../../types.ts";
import { llamacppView } from "./llamacpp.ts";
import { mlxView } from "./mlx.ts";
import { ortGenaiView } from "./ort-genai.ts";
import type { StoredRope } from "./stored.ts";
import { transformersView } from "./transformers.ts";
import { vllmView } from "./vllm.ts";

export type { GgufRopeKeys, StoredRope } from "./stored.ts";
export { storedFromSpec } from "./stored.ts";
export { transformersSpec, transformersView } from "./transformers.ts";
export { ggufKeysFromHf, llamacppFromGguf, llamacppView } from "./llamacpp.ts";
export { vllmView } from "./vllm.ts";
export { ortGenaiView } from "./ort-genai.ts";
export { mlxView } from "./mlx.ts";

export const ENGINE_PROFILES: Record<EngineName, (s: StoredRope) => EngineView> = {
  transformers: (s) => transformersView(s),
  llamacpp: llamacppView,
  vllm: vllmView,
  ortGenai: ortGenaiView,
  mlx: mlxView,
};

/** Every engine's reading of the same stored parameters. */
export function engineViews(s: StoredRope): Record<EngineName, EngineView> {
  const out = {} as Record<EngineName, EngineView>;
  for (const [name, profile] of Object.entries(ENGINE_PROFILES) as [EngineName, (s: StoredRope) => EngineView][]) {
    try {
      out[name] = profile(s);
    } catch (err) {
      out[name] = { invFreq: [], attentionFactor: Number.NaN, warnings: [`${name} cannot read these parameters: ${(err as Error).message}`] };
    }
  }
  return out;
}
