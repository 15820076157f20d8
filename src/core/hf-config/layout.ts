// The layer layout a config.json declares (layers, KV heads, head dims, sliding-window layers and their RoPE, MLA) and
// a parameter count from its shapes, for the fit report and the per-layer-kind RoPE report.
import { isLayerCount, type LayerLayout, type SlidingRope } from "../fit.ts";
import { hfRopeType, type JsonObject } from "../rope/hf-params.ts";
import { isObject } from "./json-text.ts";

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * The stored dtype and its bytes per parameter: an fp8 quantization_config (DeepSeek-V3) first, else torch_dtype /
 * dtype (bfloat16 when unsaid, the norm for checkpoints).
 */
function dtypeOf(cfg: JsonObject, root: JsonObject): { name: string; bytes: number } {
  // Configs are prototype-free objects of any shape (hostile ones too): only strings are read as names.
  const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const quant = cfg["quantization_config"] ?? root["quantization_config"];
  const method = (isObject(quant) && text(quant["quant_method"])) || "";
  if (/fp8/.test(method)) return { name: method, bytes: 1 };
  const name = text(cfg["torch_dtype"]) ?? text(cfg["dtype"]) ?? text(root["torch_dtype"]) ?? text(root["dtype"]) ?? "bfloat16";
  return { name, bytes: /float32|fp32/.test(name) ? 4 : /float64/.test(name) ? 8 : /int8|fp8|float8/.test(name) ? 1 : 2 };
}

/**
 * How transformers rotates the sliding-window layers of a family:
 * - per-layer rope_parameters (Gemma 3/4 as v5 saves them): the sliding_attention dict, plain when its type is default;
 * - Gemma 3 v4 configs: models/gemma3/modeling_gemma3.py builds rotary_emb_local from rope_local_base_freq with
 *   rope_type "default";
 * - OLMo 3: models/olmo3/modular_olmo3.py keeps rotary_embs["sliding_attention"] at rope_type "default" ("RoPE scaling
 *   is not applied to sliding window attention layers");
 * - any other family (gpt-oss, ...) has one rotary embedding for every layer.
 */
function slidingRope(cfg: JsonObject): SlidingRope | null {
  const rp = cfg["rope_parameters"];
  const sliding = isObject(rp) ? (rp as JsonObject)["sliding_attention"] : undefined;
  if (isObject(sliding)) {
    const d = sliding as JsonObject;
    const theta = num(d["rope_theta"]) ?? num(cfg["rope_theta"]);
    return hfRopeType(d) === "default" && theta !== undefined ? { kind: "plain", theta, source: "its sliding_attention rope_parameters" } : null;
  }
  const local = num(cfg["rope_local_base_freq"]);
  if (local !== undefined) return { kind: "plain", theta: local, source: "transformers' Gemma 3 rotary_emb_local (rope_local_base_freq, rope_type default)" };
  const theta = num(cfg["rope_theta"]) ?? num(isObject(rp) ? (rp as JsonObject)["rope_theta"] : undefined);
  if (/^olmo3/.test(typeof cfg["model_type"] === "string" ? cfg["model_type"] : "") && theta !== undefined) {
    return { kind: "plain", theta, source: "transformers' Olmo3 rotary_embs (sliding_attention at rope_type default)" };
  }
  return { kind: "shared", source: "transformers' one rotary embedding for every layer" };
}

/** Which layers slide: layer_types, else Gemma 3's sliding_window_pattern (every pattern-th layer is full). */
function slidingLayers(cfg: JsonObject, layers: number): boolean[] | undefined {
  const types = cfg["layer_types"];
  if (Array.isArray(types) && types.length === layers) return types.map((t) => t === "sliding_attention");
  const pattern = num(cfg["sliding_window_pattern"]);
  if (pattern !== undefined && pattern > 0) return Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
  return undefined;
}

/**
 * Parameters of the text model counted from the config's shapes: embeddings, attention (DeepSeek's MLA projections
 * when kv_lora_rank is set), the MLP or the experts (DeepSeek's first_k_dense_replace layers dense), norms.
 */
function parameterCount(cfg: JsonObject, root: JsonObject, layers: number, heads: number, kvHeads: number, headDim: number): number | undefined {
  const hidden = num(cfg["hidden_size"]);
  const vocab = num(cfg["vocab_size"]) ?? num(root["vocab_size"]);
  const inter = num(cfg["intermediate_size"]);
  if (hidden === undefined || vocab === undefined || inter === undefined) return undefined;
  const tied = (cfg["tie_word_embeddings"] ?? root["tie_word_embeddings"]) === true;
  const kvLora = num(cfg["kv_lora_rank"]);
  const qkRope = num(cfg["qk_rope_head_dim"]) ?? 0;
  const vDim = num(cfg["v_head_dim"]) ?? headDim;
  const qLora = num(cfg["q_lora_rank"]);
  const attention = kvLora !== undefined
    ? (qLora ? hidden * qLora + qLora * heads * headDim : hidden * heads * headDim) + hidden * (kvLora + qkRope) + kvLora * heads * (headDim - qkRope + vDim) + heads * vDim * hidden
    : hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2;
  const experts = num(cfg["n_routed_experts"]) ?? num(cfg["num_local_experts"]) ?? num(cfg["num_experts"]);
  const expertInter = num(cfg["moe_intermediate_size"]) ?? inter;
  const shared = num(cfg["n_shared_experts"]) ?? 0;
  const dense = experts ? Math.min(layers, num(cfg["first_k_dense_replace"]) ?? 0) : layers;
  const moe = experts ? (experts + shared) * 3 * hidden * expertInter + hidden * experts : 0;
  return vocab * hidden * (tied ? 1 : 2) + layers * (attention + 2 * hidden) + dense * 3 * hidden * inter + (layers - dense) * moe + hidden;
}

/**
 * The layer layout of a config.json's text model (`cfg` is the root or its text_config), or undefined when the layer
 * count or heads are missing.
 *
 * @example
 * hfLayerLayout(textConfig, root, 128)?.sliding?.window; // Gemma 3: 1024
 */
export function hfLayerLayout(cfg: JsonObject, root: JsonObject, headDim: number): LayerLayout | undefined {
  const layers = num(cfg["num_hidden_layers"]);
  const heads = num(cfg["num_attention_heads"]);
  if (!isLayerCount(layers) || heads === undefined) return undefined;
  const kvHeads = num(cfg["num_key_value_heads"]) ?? heads;
  const kvLoraRank = num(cfg["kv_lora_rank"]);
  const qkRope = num(cfg["qk_rope_head_dim"]);
  const layout: LayerLayout = {
    layers,
    kvHeads: Array(layers).fill(kvHeads),
    keyDim: headDim,
    valueDim: num(cfg["v_head_dim"]) ?? headDim,
  };
  if (kvLoraRank !== undefined && qkRope !== undefined) layout.mla = { kvLoraRank, ropeDim: qkRope };
  const window = num(cfg["sliding_window"]);
  const which = window !== undefined && window > 0 && cfg["use_sliding_window"] !== false ? slidingLayers(cfg, layers) : undefined;
  if (window !== undefined && which?.some(Boolean)) layout.sliding = { window, layers: which, rope: slidingRope(cfg) };
  const parameters = parameterCount(cfg, root, layers, heads, kvHeads, headDim);
  if (parameters !== undefined) {
    const dtype = dtypeOf(cfg, root);
    layout.parameterEstimate = {
      parameters,
      bytesPerParameter: dtype.bytes,
      note: `config.json's shapes: ${(parameters / 1e9).toPrecision(3)}B parameters of the text model × ${dtype.bytes} bytes (${dtype.name})`,
    };
  }
  return layout;
}
