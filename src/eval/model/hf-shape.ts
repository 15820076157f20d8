// A Hugging Face config.json as the forward pass's shape, read as transformers reads it for the family.
import { readHfConfig, type HfConfig } from "../../core/hf-config/read.ts";
import { ModelFormatError } from "../../core/errors.ts";
import { defaultInvFreq } from "../../core/rope/default.ts";
import { familyOfHf, type Family } from "./families.ts";
import type { LayerShape, ModelRope, ModelShape } from "./model-shape.ts";

/** The activation each family's config must name (hidden_act, or Gemma's hidden_activation). */
const ACTIVATION_KEYS: Record<Family["activation"], readonly string[]> = {
  silu: ["silu", "swish"],
  "gelu-tanh": ["gelu_pytorch_tanh"],
};

/**
 * Reads `<dir>/config.json`: the family, the shape and the RoPE; refuses what the family's pass does not compute.
 *
 * @example
 * const { shape, rope } = readHfShape("./Qwen2.5-0.5B");
 */
export function readHfShape(dir: string): { shape: ModelShape; rope: ModelRope; hf: HfConfig } {
  const hf = readHfConfig(dir);
  const c = hf.textConfig as Record<string, unknown>;
  const file = hf.file;
  const family = familyOfHf(hf.architecture, file);
  const refuse = (problem: string): never => {
    throw new ModelFormatError(file, problem);
  };
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) refuse(`${key} missing or not a positive integer`);
    return v as number;
  };
  const hidden = int("hidden_size");
  const heads = int("num_attention_heads");
  const kvHeads = int("num_key_value_heads", heads);
  const headDim = int("head_dim", hidden / heads);
  if (heads % kvHeads !== 0) refuse(`num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  const act = c["hidden_activation"] ?? c["hidden_act"] ?? "silu";
  if (!ACTIVATION_KEYS[family.activation].includes(String(act))) {
    refuse(`${family.name}: hidden activation ${String(act)} is not supported (${ACTIVATION_KEYS[family.activation].join(" or ")})`);
  }
  for (const key of ["attention_bias", "mlp_bias"]) {
    // Qwen2's Q/K/V biases are part of the family; Llama's optional attention_bias adds an output bias too.
    if (c[key] === true && !family.qkvBias) refuse(`${key} is true: the evaluator's ${family.name} pass has no such biases`);
  }
  for (const key of ["final_logit_softcapping", "attn_logit_softcapping"]) {
    if (typeof c[key] === "number") refuse(`${key} is set: logit soft-capping is not supported by the evaluator`);
  }
  const layerCount = int("num_hidden_layers");
  const layers = layerShapes(family, c, layerCount, refuse);
  const rotaryDim = hf.spec.rotaryDim;
  if (rotaryDim > headDim) refuse(`rotary dimension ${rotaryDim} exceeds head_dim ${headDim}`);
  const shape: ModelShape = {
    family,
    architecture: hf.architecture,
    hidden,
    heads,
    kvHeads,
    headDim,
    rotaryDim,
    intermediate: int("intermediate_size"),
    vocab: int("vocab_size"),
    eps: typeof c["rms_norm_eps"] === "number" ? (c["rms_norm_eps"] as number) : 1e-6,
    layers,
    // transformers multiplies float32 activations by these Python floats.
    attentionScale: Math.fround(family.queryPreAttnScalar ? Math.pow(int("query_pre_attn_scalar", headDim), -0.5) : Math.pow(headDim, -0.5)),
    embedScale: family.scaleEmbeddings ? Math.fround(Math.sqrt(hidden)) : 1,
  };
  if (layers.some((l) => l.rope === "local")) {
    shape.localRope = { invFreq: defaultInvFreq(rotaryDim, localTheta(c)), attentionFactor: 1 };
  }
  return { shape, rope: { spec: hf.spec }, hf };
}

/** Gemma 3's sliding layers' base: rope_parameters.sliding_attention (v5) or rope_local_base_freq (v4), default 10000. */
function localTheta(c: Record<string, unknown>): number {
  const rp = c["rope_parameters"] as Record<string, Record<string, unknown> | undefined> | undefined;
  const v5 = rp?.["sliding_attention"]?.["rope_theta"];
  const v = typeof v5 === "number" ? v5 : c["rope_local_base_freq"];
  return typeof v === "number" ? v : 10000;
}

/** Each layer's attention as transformers builds its mask: config.json's layer_types, else the family's rule. */
function layerShapes(family: Family, c: Record<string, unknown>, count: number, refuse: (p: string) => never): LayerShape[] {
  const sw = c["sliding_window"];
  const window = typeof sw === "number" && sw > 0 ? sw : 0;
  let sliding: (i: number) => boolean;
  const types = c["layer_types"];
  if (Array.isArray(types)) {
    if (types.length !== count) refuse(`layer_types has ${types.length} entries for ${count} layers`);
    const unknown = types.find((t) => t !== "sliding_attention" && t !== "full_attention");
    if (unknown !== undefined) refuse(`layer type ${String(unknown)} is not supported (sliding_attention, full_attention)`);
    sliding = (i) => types[i] === "sliding_attention";
  } else if (family.windows === "all") {
    sliding = () => window > 0;
  } else if (family.windows === "from-max-window-layers") {
    const from = typeof c["max_window_layers"] === "number" ? (c["max_window_layers"] as number) : count;
    sliding = (i) => c["use_sliding_window"] === true && i >= from;
  } else if (family.windows === "pattern") {
    const pattern = typeof c["sliding_window_pattern"] === "number" ? (c["sliding_window_pattern"] as number) : 6;
    sliding = (i) => (i + 1) % pattern !== 0;
  } else {
    sliding = () => false;
  }
  return Array.from({ length: count }, (_, i) => ({
    rope: sliding(i) && family.localRope ? "local" : "global",
    window: sliding(i) ? window : 0,
  }));
}
