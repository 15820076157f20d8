// transformers v5 (variant D of rope-engines.md §2): the reference every other engine is compared with.
import { computeRope } from "../compute.ts";
import { ModelFormatError } from "../../errors.ts";
import { hfRopeTypeRefusal } from "../family-quirks.ts";
import { hfRopeType, scalingFromHfDict } from "../hf-params.ts";
import type { RopeSpec } from "../types.ts";
import type { EngineView } from "../../types.ts";
import { type StoredRope, transformersDict } from "./stored.ts";

/**
 * The RopeSpec transformers builds from the stored parameters, with v5 standardisation applied.
 *
 * @example
 * const { spec, warnings } = transformersSpec(info.stored);
 */
export function transformersSpec(s: StoredRope): { spec: RopeSpec; warnings: string[] } {
  const warnings: string[] = [];
  const dict = transformersDict(s);
  if (s.ropeScaling && s.ropeParameters && hfRopeType(s.ropeParameters) !== "default") {
    warnings.push("config.json has both rope_scaling and rope_parameters: transformers v5 uses rope_scaling");
  }
  const scaling = scalingFromHfDict(dict);
  if (s.perLayerType && !s.ropeScaling && scaling.truncate !== undefined) {
    // _compute_yarn_parameters reads config.rope_parameters.get("truncate", True): the outer, per-layer dict.
    if (scaling.truncate === false) warnings.push("truncate: false inside a per-layer rope_parameters is not read: transformers reads truncate from the outer dict, so it truncates");
    delete scaling.truncate;
  }
  const usesOriginal = ["yarn", "llama3", "longrope"].includes(scaling.method);
  let originalContext = scaling.originalContext;
  if (usesOriginal) {
    if (s.topLevelOriginal !== undefined) originalContext = s.topLevelOriginal;
    else if (originalContext === undefined) {
      originalContext = s.maxPositionEmbeddings;
      warnings.push(
        `no original_max_position_embeddings: transformers takes max_position_embeddings (${s.maxPositionEmbeddings}) as the pre-extension context`,
      );
    }
    scaling.originalContext = originalContext;
  }
  if (scaling.method === "yarn" && scaling.factor === undefined && originalContext) {
    scaling.factor = s.maxPositionEmbeddings / originalContext;
  }
  const spec: RopeSpec = {
    theta: s.theta,
    headDim: s.headDim,
    rotaryDim: s.rotaryDim,
    context: s.maxPositionEmbeddings,
    originalContext: originalContext ?? s.maxPositionEmbeddings,
    scaling,
  };
  return { spec, warnings };
}

/**
 * Why transformers' config class for this family cannot load the stored rope dict (Phi-3 renames yarn to longrope
 * and fails), or null. Engines that load config.json through transformers (vLLM, ORT GenAI's builder) fail alike.
 */
export function transformersLoadRefusal(s: StoredRope): string | null {
  if (s.gguf) return null;
  const type = hfRopeType(transformersDict(s));
  return hfRopeTypeRefusal(s.architecture, type === "su" ? "longrope" : type);
}

/**
 * transformers' reading of stored parameters: the reference every other engine is compared with.
 *
 * @example
 * const ref = transformersView(info.stored, { seqLen: 8192 });
 */
export function transformersView(s: StoredRope, opts: { seqLen?: number } = {}): EngineView {
  const refusal = transformersLoadRefusal(s);
  if (refusal) throw new ModelFormatError(undefined, `fails to load this config: ${refusal}`);
  const { spec, warnings } = transformersSpec(s);
  return { ...computeRope(spec, opts), warnings };
}
