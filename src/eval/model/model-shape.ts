// What the forward pass needs to know about a checkpoint besides its tensors, whatever format it came from.
import type { RopeFrequencies, RopeSpec } from "../../core/rope/types.ts";
import type { Family } from "./families.ts";

/** One decoder layer's attention: which RoPE it rotates with and how far back it sees. */
export interface LayerShape {
  /** "global": the model's RoPE (and the scaling being evaluated); "local": the fixed plain RoPE of sliding layers. */
  rope: "global" | "local";
  /** A query at index i sees keys i − window < j ≤ i; 0 means every earlier key. */
  window: number;
}

export interface ModelShape {
  family: Family;
  /** config.json's architecture or the GGUF's general.architecture, for reports. */
  architecture: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Leading dims of each head that rotate (partial rotary); the rest pass through. */
  rotaryDim: number;
  intermediate: number;
  vocab: number;
  eps: number;
  layers: LayerShape[];
  /** Multiplies Q·Kᵀ before the softmax (1/√head_dim, or Gemma's query_pre_attn_scalar^-½). */
  attentionScale: number;
  /** Multiplies the embeddings (√hidden for Gemma, else 1). */
  embedScale: number;
  /** The sliding layers' RoPE (Gemma 3), when any layer is "local". */
  localRope?: RopeFrequencies;
}

/** The global layers' RoPE as the file declares it, and what the format adds on top. */
export interface ModelRope {
  /** As transformers reads config.json, or llama.cpp a GGUF header. */
  spec: RopeSpec;
  /** A GGUF's rope_freqs (Llama 3's factors): llama.cpp divides every frequency by them, whatever the scaling. */
  freqFactors?: number[];
}
