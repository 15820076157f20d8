// The checkpoints the real-weights probe reads: a Hugging Face directory's safetensors, or a GGUF file
// (F32, F16, BF16, Q8_0 tensors). Anything else comes back as a reason to skip.
import type { GgufHeader } from "../../converters/gguf/read.ts";
import { ggufNumber } from "../../converters/gguf/spec.ts";
import { GGUF_FLOAT_TYPES, ggufMatrix, readGgufRows } from "../weights/gguf-tensor.ts";
import { loadSafetensors, safetensorsFiles } from "../weights/load-safetensors.ts";
import type { ProbeModel } from "./weights-check.ts";

type Probe = ProbeModel | { skipped: string };

const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);

/** `config` holds the text model's keys (the root, or text_config). */
export function safetensorsProbe(dir: string, config: Record<string, unknown>): Probe {
  if (!safetensorsFiles(dir)) return { skipped: "weights not readable: no model.safetensors or model.safetensors.index.json" };
  const hidden = num(config["hidden_size"], 0);
  const nHeads = num(config["num_attention_heads"], 0);
  const layers = num(config["num_hidden_layers"], 0);
  const vocab = num(config["vocab_size"], 0);
  if (!hidden || !nHeads || !layers || !vocab) return { skipped: "config lacks hidden_size, num_attention_heads, num_hidden_layers or vocab_size" };
  const store = loadSafetensors(dir);
  const embedName = "model.embed_tokens.weight";
  if (!store.entries.has(embedName)) return { skipped: `no ${embedName}: only Llama-style checkpoints (embed_tokens, q_proj, k_proj) are probed` };
  return {
    hidden, nHeads, layers, vocab,
    nKv: num(config["num_key_value_heads"], nHeads),
    eps: num(config["rms_norm_eps"], 1e-6),
    embed: (tokens) => store.rows(embedName, tokens),
    layer(layer) {
      const pre = `model.layers.${layer}`;
      const names = [`${pre}.input_layernorm.weight`, `${pre}.self_attn.q_proj.weight`, `${pre}.self_attn.k_proj.weight`];
      const missing = names.filter((n) => !store.entries.has(n));
      if (missing.length) return { missing: missing.join(", ") };
      const [norm, q, k] = names.map((n) => store.get(n).data);
      return { norm: norm!, q: q!, k: k! };
    },
  };
}

/**
 * llama.cpp's converter stores Q and K of these architectures with each head's rows interleaved (pair j at rows
 * 2j, 2j+1: its NORM rope); the probe puts them back in transformers' rotate-half order. The NEOX ones are stored
 * as transformers has them. Other architectures are skipped rather than guessed.
 */
const INTERLEAVED_QK = new Set(["llama", "granite"]);
const ROTATE_HALF_QK = new Set(["qwen2", "qwen2moe", "qwen3", "qwen3moe"]);

/** Rows of a [heads·d, in] projection from llama.cpp's interleaved order back to rotate-half order. */
function deinterleave(w: Float32Array, heads: number, d: number, width: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < d / 2; j++) {
      for (const half of [0, 1]) {
        const from = (h * d + 2 * j + half) * width;
        out.set(w.subarray(from, from + width), (h * d + half * (d / 2) + j) * width);
      }
    }
  }
  return out;
}

export function ggufProbe(h: GgufHeader, headDim: number): Probe {
  const arch = h.architecture;
  if (!INTERLEAVED_QK.has(arch) && !ROTATE_HALF_QK.has(arch)) {
    return { skipped: `GGUF architecture ${arch}: its Q/K row layout is not known to the probe (read: ${[...INTERLEAVED_QK, ...ROTATE_HALF_QK].join(", ")})` };
  }
  const meta = h.metadata;
  const hidden = ggufNumber(meta, `${arch}.embedding_length`) ?? 0;
  const nHeads = ggufNumber(meta, `${arch}.attention.head_count`) ?? 0;
  const layers = ggufNumber(meta, `${arch}.block_count`) ?? 0;
  if (!hidden || !nHeads || !layers) return { skipped: `GGUF lacks ${arch}.embedding_length, .attention.head_count or .block_count` };
  const names = new Set(h.tensorInfos.map((t) => t.name));
  const typeOf = new Map(h.tensorInfos.map((t) => [t.name, t.dtype]));
  const wanted = (layer: number) => [`blk.${layer}.attn_norm.weight`, `blk.${layer}.attn_q.weight`, `blk.${layer}.attn_k.weight`];
  for (const n of ["token_embd.weight", ...wanted(0), ...wanted(layers - 1)]) {
    if (names.has(n) && GGUF_FLOAT_TYPES[typeOf.get(n)!] === undefined) {
      return { skipped: `tensor ${n} is ggml type ${typeOf.get(n)}: only ${Object.values(GGUF_FLOAT_TYPES).join(", ")} tensors are read` };
    }
  }
  if (!names.has("token_embd.weight")) return { skipped: "no token_embd.weight" };
  const nKv = ggufNumber(meta, `${arch}.attention.head_count_kv`) ?? nHeads;
  const unpermute = (w: Float32Array, heads: number) => (INTERLEAVED_QK.has(arch) ? deinterleave(w, heads, headDim, hidden) : w);
  return {
    hidden, nHeads, nKv, layers,
    eps: ggufNumber(meta, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-6,
    vocab: ggufMatrix(h, "token_embd.weight").height,
    embed: (tokens) => readGgufRows(h, "token_embd.weight", tokens),
    layer(layer) {
      const missing = wanted(layer).filter((n) => !names.has(n));
      if (missing.length) return { missing: missing.join(", ") };
      const [norm, q, k] = wanted(layer).map((n) => readGgufRows(h, n));
      return { norm: norm!, q: unpermute(q!, nHeads), k: unpermute(k!, nKv) };
    },
  };
}
