// The stored RoPE parameters the engine profiles read, and the one way a non-HF format fills them from a RopeSpec.
import { hfDictFromScaling, type JsonObject } from "../hf-params.ts";
import type { RopeSpec } from "../types.ts";

/** GGUF rope keys as stored (without the `{arch}.` prefix); what llama.cpp reads. */
export interface GgufRopeKeys {
  architecture: string;
  contextLength: number;
  scalingType?: string;
  factor?: number;
  originalContextLength?: number;
  /** `rope.scaling.yarn_log_multiplier` as stored (DeepSeek2 family: 0.1·mscale_all_dim). */
  yarnLogMultiplier?: number;
  /** `rope.scaling.attn_factor`, a plain multiplier. */
  attnFactor?: number;
  yarnBetaFast?: number;
  yarnBetaSlow?: number;
  /**
   * Per-pair divisors of the angle that llama.cpp passes to ggml_rope_ext with any scaling: `rope_freqs.weight` (Llama
   * 3.x's llama3 factors), else `rope_factors_short.weight` (Phi-3; llama.cpp takes the long set once a sequence's
   * context exceeds original_context_length, as transformers does past it).
   */
  freqFactors?: number[];
}

/**
 * RoPE parameters as a file stores them, before any engine interprets them. Engine profiles turn this into the
 * frequencies each engine would actually use.
 */
export interface StoredRope {
  theta: number;
  headDim: number;
  rotaryDim: number;
  /** max_position_embeddings (HF) or context_length (GGUF). */
  maxPositionEmbeddings: number;
  /** A top-level `original_max_position_embeddings` (Phi-3 style), which transformers prefers. */
  topLevelOriginal?: number;
  /** config["rope_scaling"], the v4 / legacy dict. */
  ropeScaling: JsonObject | null;
  /** config["rope_parameters"] (v5); for per-layer-type configs, the full_attention dict. */
  ropeParameters: JsonObject | null;
  /**
   * rope_parameters is keyed by layer type (Gemma 3): transformers reads `truncate` from the outer dict, which can
   * hold only layer types, so a per-layer `truncate` is never read.
   */
  perLayerType?: boolean;
  /** model_type (HF) or general.architecture (GGUF): some engines special-case DeepSeek; llama.cpp keys use it. */
  architecture?: string;
  /** Present when the file is a GGUF: llama.cpp reads these keys instead of a config.json. */
  gguf?: GgufRopeKeys;
}

/** The dict transformers uses: a legacy rope_scaling overrides rope_parameters (rope-engines.md §2.1). */
export function transformersDict(s: StoredRope): JsonObject | null {
  return s.ropeScaling ?? s.ropeParameters;
}

export const isDeepseek = (arch: string | undefined): boolean => /deepseek|kimi/i.test(arch ?? "");

/** GGUF architectures whose yarn_log_multiplier llama.cpp stores as 0.1·mscale_all_dim (LLM_ARCH_DEEPSEEK2). */
export const DEEPSEEK2_FAMILY: ReadonlySet<string> = new Set(["deepseek2"]);

/**
 * StoredRope for a format that keeps no config.json (GGUF, ONNX): the spec written as the rope_parameters dict a
 * transformers v5 config of the same model holds, so every engine profile can judge the file. Plain RoPE is
 * `{rope_type: "default", rope_theta}` too, not null: v5 always writes that dict, and the scaled and unscaled
 * files then differ only in the keys that changed. `gguf` carries the keys llama.cpp reads instead.
 *
 * @example
 * const stored = storedFromSpec(spec, { architecture: "llama", gguf: ggufStoredKeys(meta, "llama") });
 */
export function storedFromSpec(spec: RopeSpec, file: { architecture?: string; gguf?: GgufRopeKeys } = {}): StoredRope {
  const dict = spec.scaling.method === "none" ? { rope_type: "default" } : hfDictFromScaling(spec.scaling);
  return {
    theta: spec.theta,
    headDim: spec.headDim,
    rotaryDim: spec.rotaryDim,
    maxPositionEmbeddings: spec.context,
    ropeScaling: null,
    ropeParameters: { ...dict, rope_theta: spec.theta },
    ...(file.architecture ? { architecture: file.architecture } : {}),
    ...(file.gguf ? { gguf: file.gguf } : {}),
  };
}
