// Public types of the library API, re-exported from src/index.ts.
import type { CorrectionRange, FrequencyBands, RopeFrequencies, RopeMethod, RopeScaling, RopeSpec } from "./rope/types.ts";

export type { CorrectionRange, FrequencyBands, RopeFrequencies, RopeMethod, RopeScaling, RopeSpec };

export type ModelFormat = "hf" | "gguf" | "onnx";
export type EngineName = "transformers" | "llamacpp" | "vllm" | "ortGenai" | "mlx";
export const ENGINE_NAMES: readonly EngineName[] = ["transformers", "llamacpp", "vllm", "ortGenai", "mlx"];

/** What one engine computes from the stored parameters. */
export interface EngineView extends RopeFrequencies {
  /** Where this engine departs from transformers or ignores a stored key. */
  warnings: string[];
}

/** Static methods a user can ask to write into a model. */
export type PlanMethod = "yarn" | "linear" | "ntk" | "dynamic" | "dynamic-yarn";

/** What the user asks for: a factor or a target context, plus optional YaRN knobs (as RopeScaling names them). */
export interface PlanTarget extends Pick<RopeScaling, "betaFast" | "betaSlow" | "truncate" | "mscale" | "mscaleAllDim" | "attentionFactor"> {
  factor?: number;
  context?: number;
  method?: PlanMethod;
  /** The trained context, when the file's is wrong (Qwen3 declares 40960 but was trained on 32768). */
  originalContext?: number;
  /** Re-plan a model that already has scaling, from its original context. */
  force?: boolean;
  /**
   * Accept a target at or below the context the model already declares (a re-plan with `force` can shrink it:
   * gpt-oss 131072 → 16384 at ×4 from 4096). Without it such a target is refused (CLI: `--allow-shrink`).
   */
  allowShrink?: boolean;
}

/** The extension to apply: the new stored parameters and what transformers will compute from them. */
export interface Plan {
  source: RopeSpec;
  method: PlanMethod;
  factor: number;
  originalContext: number;
  /** The context the file declared before the patch (max_position_embeddings / context_length). */
  previousContext: number;
  /**
   * New context the model is meant to serve; files declare it as max_position_embeddings, except for dynamic NTK,
   * which transformers only engages past max_position_embeddings (kept at the original context).
   */
  context: number;
  /** Parameters to store. */
  scaling: RopeScaling;
  theta: number;
  rotaryDim: number;
  headDim: number;
  /** YaRN only. */
  correction?: CorrectionRange;
  bands?: FrequencyBands;
  invFreq: number[];
  attentionFactor: number;
  warnings: string[];
}
