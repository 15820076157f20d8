// Where each format stores each of a layer's tensors (transformers' state-dict names, llama.cpp's GGUF names from
// gguf-py's constants.py), as data. A fused tensor (Phi-3's qkv_proj / attn_qkv, gate_up_proj / ffn_up) is the
// fallback when the separate ones are absent.
import type { Family } from "./families.ts";

/** A layer's tensors as the forward pass uses them. */
export type LayerTensor =
  | "attnNorm" | "q" | "k" | "v" | "o" | "qBias" | "kBias" | "vBias" | "qNorm" | "kNorm" | "attnPostNorm"
  | "mlpNorm" | "gate" | "up" | "down" | "mlpPostNorm";

/** Stored fused: rows [Q; K; V] and [gate; up]. */
export type FusedTensor = "qkv" | "gateUp";

export interface TensorNames {
  embed: string;
  norm: string;
  /** Absent in the file when the embeddings are tied. */
  lmHead: string;
  layer(i: number, t: LayerTensor | FusedTensor): string;
}

const HF_LAYER: Record<LayerTensor | FusedTensor, string> = {
  attnNorm: "input_layernorm.weight",
  q: "self_attn.q_proj.weight",
  k: "self_attn.k_proj.weight",
  v: "self_attn.v_proj.weight",
  o: "self_attn.o_proj.weight",
  qkv: "self_attn.qkv_proj.weight",
  qBias: "self_attn.q_proj.bias",
  kBias: "self_attn.k_proj.bias",
  vBias: "self_attn.v_proj.bias",
  qNorm: "self_attn.q_norm.weight",
  kNorm: "self_attn.k_norm.weight",
  attnPostNorm: "post_attention_layernorm.weight",
  mlpNorm: "post_attention_layernorm.weight",
  gate: "mlp.gate_proj.weight",
  up: "mlp.up_proj.weight",
  gateUp: "mlp.gate_up_proj.weight",
  down: "mlp.down_proj.weight",
  mlpPostNorm: "post_feedforward_layernorm.weight",
};

/** Gemma's sandwich: post_attention_layernorm is the attention's output norm and the MLP has its own pre-norm. */
const HF_SANDWICH: Partial<Record<LayerTensor, string>> = { mlpNorm: "pre_feedforward_layernorm.weight" };

const GGUF_LAYER: Record<LayerTensor | FusedTensor, string> = {
  attnNorm: "attn_norm.weight",
  q: "attn_q.weight",
  k: "attn_k.weight",
  v: "attn_v.weight",
  o: "attn_output.weight",
  qkv: "attn_qkv.weight",
  qBias: "attn_q.bias",
  kBias: "attn_k.bias",
  vBias: "attn_v.bias",
  qNorm: "attn_q_norm.weight",
  kNorm: "attn_k_norm.weight",
  attnPostNorm: "post_attention_norm.weight",
  mlpNorm: "ffn_norm.weight",
  gate: "ffn_gate.weight",
  up: "ffn_up.weight",
  // Phi-3's fused gate/up keeps the name ffn_up with twice the rows.
  gateUp: "ffn_up.weight",
  down: "ffn_down.weight",
  mlpPostNorm: "post_ffw_norm.weight",
};

/** Prefixes transformers puts before the decoder's names (causal LM, or the text model inside a multimodal one). */
const HF_PREFIXES = ["model.", "", "model.language_model.", "language_model.model."];

/**
 * The names of a config.json checkpoint, its prefix found from the embedding's name; undefined when none matches.
 *
 * @example
 * hfTensorNames(family, (n) => src.has(n))?.layer(0, "q"); // "model.layers.0.self_attn.q_proj.weight"
 */
export function hfTensorNames(family: Family, has: (name: string) => boolean): TensorNames | undefined {
  const prefix = HF_PREFIXES.find((p) => has(`${p}embed_tokens.weight`));
  if (prefix === undefined) return undefined;
  const lmHead = prefix === "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight";
  return {
    embed: `${prefix}embed_tokens.weight`,
    norm: `${prefix}norm.weight`,
    lmHead,
    layer: (i, t) => `${prefix}layers.${i}.${(family.sandwichNorms && t !== "qkv" && t !== "gateUp" ? HF_SANDWICH[t] : undefined) ?? HF_LAYER[t]}`,
  };
}

/** The names llama.cpp's converter writes. */
export const GGUF_TENSOR_NAMES: TensorNames = {
  embed: "token_embd.weight",
  norm: "output_norm.weight",
  lmHead: "output.weight",
  layer: (i, t) => `blk.${i}.${GGUF_LAYER[t]}`,
};
