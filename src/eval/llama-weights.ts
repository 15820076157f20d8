// The tensors of a Llama checkpoint as float32 arrays in transformers' layout ([out, in] for linear layers).
import { ModelFormatError } from "../core/errors.ts";
import { loadSafetensors } from "../weights/load-safetensors.ts";
import type { LlamaConfig } from "./llama-config.ts";

export interface LlamaLayerWeights {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export interface LlamaWeights {
  config: LlamaConfig;
  embed: Float32Array;
  layers: LlamaLayerWeights[];
  norm: Float32Array;
  lmHead: Float32Array;
  /** Stored element type of the checkpoint (the majority dtype), for reports. */
  dtype: string;
}

export function loadLlamaWeights(config: LlamaConfig): LlamaWeights {
  const store = loadSafetensors(config.dir);
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = config;
  const get = (name: string, shape: number[]): Float32Array => {
    const t = store.get(name);
    if (t.shape.join(",") !== shape.join(",")) {
      throw new ModelFormatError(config.dir, `tensor ${name} has shape [${t.shape}], config.json implies [${shape}]`);
    }
    return t.data;
  };
  const prefix = store.entries.has("model.embed_tokens.weight") ? "model." : "";
  const layers: LlamaLayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const p = `${prefix}layers.${l}.`;
    layers.push({
      inputNorm: get(`${p}input_layernorm.weight`, [H]),
      q: get(`${p}self_attn.q_proj.weight`, [heads * D, H]),
      k: get(`${p}self_attn.k_proj.weight`, [kvHeads * D, H]),
      v: get(`${p}self_attn.v_proj.weight`, [kvHeads * D, H]),
      o: get(`${p}self_attn.o_proj.weight`, [H, heads * D]),
      postNorm: get(`${p}post_attention_layernorm.weight`, [H]),
      gate: get(`${p}mlp.gate_proj.weight`, [I, H]),
      up: get(`${p}mlp.up_proj.weight`, [I, H]),
      down: get(`${p}mlp.down_proj.weight`, [H, I]),
    });
  }
  const embed = get(`${prefix}embed_tokens.weight`, [V, H]);
  const lmHead = config.tiedEmbeddings || !store.entries.has("lm_head.weight") ? embed : get("lm_head.weight", [V, H]);
  const counts = new Map<string, number>();
  for (const e of store.entries.values()) counts.set(e.dtype, (counts.get(e.dtype) ?? 0) + 1);
  const dtype = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "unknown";
  return { config, embed, layers, norm: get(`${prefix}norm.weight`, [H]), lmHead, dtype };
}
