// The shapes of a Llama-family checkpoint, from config.json, and the reasons a model is refused.
import { readHfConfig, type HfConfig } from "../../converters/hf/index.ts";
import { ModelFormatError } from "../core/errors.ts";
import type { RopeSpec } from "../core/rope/types.ts";

export interface LlamaConfig {
  dir: string;
  architecture: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  eps: number;
  tiedEmbeddings: boolean;
  /** The RoPE setup as transformers reads it (method "none" for an unpatched model). */
  rope: RopeSpec;
}

// Architectures whose forward pass is exactly: RMSNorm, bias-free Q/K/V/O, NeoX RoPE, SwiGLU, RMSNorm, LM head.
const SUPPORTED = new Set(["LlamaForCausalLM", "MistralForCausalLM"]);

/**
 * The Llama-family shape the evaluator runs (layers, heads, dimensions) from a model folder's config.json.
 *
 * @example
 * const cfg = readLlamaConfig("./tiny-llama");
 * console.log(cfg.layers, cfg.hidden);
 */
export function readLlamaConfig(dir: string): LlamaConfig {
  const hf: HfConfig = readHfConfig(dir);
  const c = hf.textConfig as Record<string, unknown>;
  const file = hf.file;
  if (!SUPPORTED.has(hf.architecture)) {
    throw new ModelFormatError(file, `architecture ${hf.architecture || "(none)"} is not supported by the evaluator: it runs the Llama forward pass only (${[...SUPPORTED].join(", ")}); other families differ in biases, norms or attention`
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new ModelFormatError(file, `${key} missing or not a positive integer`);
    return v;
  };
  const hidden = int("hidden_size");
  const heads = int("num_attention_heads");
  const kvHeads = int("num_key_value_heads", heads);
  const headDim = int("head_dim", hidden / heads);
  if (heads % kvHeads !== 0) throw new ModelFormatError(file, `num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (c[key] === true) throw new ModelFormatError(file, `${key} is true: the evaluator's Llama forward pass has no biases`);
  }
  const act = c["hidden_act"] ?? "silu";
  if (act !== "silu") throw new ModelFormatError(file, `hidden_act ${String(act)} is not supported (SwiGLU with silu only)`);
  if (typeof c["sliding_window"] === "number") {
    throw new ModelFormatError(file, "sliding-window attention is not supported by the evaluator (full causal attention only)");
  }
  if (hf.spec.rotaryDim !== headDim) {
    throw new ModelFormatError(file, `partial rotary (${hf.spec.rotaryDim} of ${headDim} dims) is not supported by the evaluator`);
  }
  return {
    dir,
    architecture: hf.architecture,
    hidden,
    layers: int("num_hidden_layers"),
    heads,
    kvHeads,
    headDim,
    intermediate: int("intermediate_size"),
    vocab: int("vocab_size"),
    eps: typeof c["rms_norm_eps"] === "number" ? (c["rms_norm_eps"] as number) : 1e-6,
    tiedEmbeddings: c["tie_word_embeddings"] === true,
    rope: hf.spec,
  };
}
