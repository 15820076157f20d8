// The vocabulary shared by the planner, the converters, the validator and the evaluator.

/**
 * Every RoPE variant yarnify can compute. "none" is plain RoPE. "proportional" is Gemma 4's full-attention RoPE
 * (transformers v5): exponents over the whole head dim, only the first rotaryDim/2 pairs rotate, all ÷ factor.
 */
export type RopeMethod = "none" | "linear" | "ntk" | "dynamic" | "yarn" | "dynamic-yarn" | "llama3" | "longrope" | "proportional";

/** Scaling parameters in yarnify's own names (the stored key names differ per format). */
export interface RopeScaling {
  method: RopeMethod;
  /** Scale s. For dynamic methods, the configured maximum factor. */
  factor?: number;
  /** Context the model was trained with before extension (L). */
  originalContext?: number;
  betaFast?: number;
  betaSlow?: number;
  /** Floor/ceil the YaRN correction range (transformers' default true; gpt-oss false). */
  truncate?: boolean;
  mscale?: number;
  mscaleAllDim?: number;
  /** Explicit attention factor (overrides the mscale rules). */
  attentionFactor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  shortFactor?: number[];
  longFactor?: number[];
}

/** A model's rotary setup, whatever format it came from. */
export interface RopeSpec {
  /** Base (rope_theta / freq_base). */
  theta: number;
  headDim: number;
  /** Dimensions that rotate: head_dim × partial_rotary_factor (or qk_rope_head_dim). */
  rotaryDim: number;
  /** Context the file declares (max_position_embeddings / context_length). */
  context: number;
  /** Trained context before any extension, when the file says so (or equals `context` without scaling). */
  originalContext?: number;
  /** Scaling already present ("none" when plain RoPE). */
  scaling: RopeScaling;
}

/** What a RoPE computation yields: per-pair inverse frequencies and the cos/sin multiplier. */
export interface RopeFrequencies {
  /** rotaryDim/2 values, float32-representable. */
  invFreq: number[];
  /** Multiplier applied to cos and sin (so logits scale by its square). */
  attentionFactor: number;
}

/** The YaRN correction range: pair indices below `low` extrapolate, above `high` interpolate. */
export interface CorrectionRange {
  lowRaw: number;
  highRaw: number;
  low: number;
  high: number;
}

/** Which pairs keep their trained frequency, which are blended, which are divided by the factor. */
export interface FrequencyBands {
  /** Pair indices [start, end) for each band; empty bands have start === end. */
  extrapolated: [number, number];
  ramped: [number, number];
  interpolated: [number, number];
}
