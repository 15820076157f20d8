// vLLM's YaRNScalingRotaryEmbedding as deployed before PR #56446 (rope-engines.md §4): the attention factor is
// get_mscale(s)·attn_factor, ignoring attention_factor, mscale and mscale_all_dim (except DeepSeek's class).
import { computeRope } from "../compute.ts";
import { getMscale } from "../yarn.ts";
import type { EngineView } from "../../types.ts";
import { isDeepseek, type StoredRope, transformersDict } from "./stored.ts";
import { ModelFormatError } from "../../errors.ts";
import { transformersLoadRefusal, transformersSpec } from "./transformers.ts";

/**
 * vLLM's reading of stored parameters (before PR #56446 it ignores attention_factor, mscale and mscale_all_dim).
 *
 * @example
 * console.log(vllmView(info.stored).attentionFactor);
 */
export function vllmView(s: StoredRope): EngineView {
  const refusal = transformersLoadRefusal(s);
  if (refusal) throw new ModelFormatError(undefined, `loads config.json through transformers, which fails: ${refusal}`);
  const { spec, warnings } = transformersSpec(s);
  const dict = transformersDict(s);
  if (dict && dict["type"] !== undefined && dict["rope_type"] !== undefined && dict["type"] !== dict["rope_type"]) {
    warnings.push(`vLLM raises on conflicting type "${dict["type"]}" and rope_type "${dict["rope_type"]}"`);
  }
  const freqs = computeRope(spec);
  const sc = spec.scaling;
  if (sc.method !== "yarn") return { ...freqs, warnings };
  const factor = sc.factor ?? 1;
  const attnFactor = typeof dict?.["attn_factor"] === "number" ? (dict["attn_factor"] as number) : 1;
  const attentionFactor = isDeepseek(s.architecture)
    ? (getMscale(factor, sc.mscale ?? 1) / getMscale(factor, sc.mscaleAllDim ?? 0)) * attnFactor
    : getMscale(factor) * attnFactor;
  if (Math.abs(attentionFactor - freqs.attentionFactor) > 1e-12) {
    warnings.push(
      `vLLM (before PR #56446) ignores attention_factor/mscale/mscale_all_dim: attention factor ${attentionFactor.toFixed(6)} instead of ${freqs.attentionFactor.toFixed(6)}`,
    );
  }
  if (spec.originalContext !== undefined && s.maxPositionEmbeddings > spec.originalContext * factor) {
    warnings.push(`vLLM caps max_model_len at original × factor = ${spec.originalContext * factor}`);
  }
  return { invFreq: freqs.invFreq, attentionFactor, warnings };
}
