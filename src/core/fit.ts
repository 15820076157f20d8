// "Will it fit?": a model's layer layout (from config.json or a GGUF header) and, for a context, the KV cache each
// engine allocates by default and the size of the weights. Pure: the converters read the layout, the app the weights.
import type { EngineName } from "./types.ts";

/** How the sliding-window layers rotate. */
export type SlidingRope =
  /** Their own plain RoPE at `theta`, whatever scaling the full-attention layers get. */
  | { kind: "plain"; theta: number; source: string }
  /** The model's RoPE, scaling included. */
  | { kind: "shared"; source: string };

/**
 * A layer count a layout is built for: whole and at most 65,536 (far above any published model), so a hostile file
 * cannot make a per-layer list of billions of entries; beyond it, fit is simply not reported.
 */
export function isLayerCount(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65536;
}

/** What the KV cache and the per-layer-kind RoPE report need to know about a model's layers. */
export interface LayerLayout {
  layers: number;
  /** KV heads of each layer (a GGUF may store them per layer). */
  kvHeads: number[];
  keyDim: number;
  valueDim: number;
  /** Sliding-window layers: the window, which layers, and their RoPE (null: not modelled for this family). */
  sliding?: { window: number; layers: boolean[]; rope: SlidingRope | null };
  /** Multi-head latent attention (DeepSeek): engines differ in what they cache (see kvCacheRows). */
  mla?: { kvLoraRank: number; ropeDim: number };
  /** From config.json: parameters counted from the shapes, and bytes per parameter of its dtype (the estimate's inputs). */
  parameterEstimate?: { parameters: number; bytesPerParameter: number; note: string };
}

/** Size of the weights and how it was found. */
export interface WeightsSize {
  bytes: number;
  /** "gguf": tensor sizes from the header(s); "safetensors": the index's total_size or the files' headers; "estimate": from config.json. */
  source: "gguf" | "safetensors" | "estimate";
  note?: string;
}

/** One engine's default KV cache at a context. */
export interface KvCacheRow {
  engine: EngineName;
  /** Tokens each sliding-window layer holds (null without sliding layers). */
  slidingTokens: number | null;
  /** Bytes with a 16-bit cache (llama.cpp's f16 default; transformers, vLLM, mlx-lm keep the model's bf16/f16). */
  f16: number;
  /** Bytes with llama.cpp's q8_0 cache (-ctk q8_0 -ctv q8_0: 34 bytes per 32 values). */
  q8_0: number;
}

/** The `fit` object of `inspect --json` and `patch --json`. */
export interface FitReport {
  /** The context the KV cache is sized for (the declared one for inspect, the new one for patch). */
  context: number;
  weights: WeightsSize | null;
  kvCache: KvCacheRow[];
  notes: string[];
}

const BYTES_F16 = 2;
const BYTES_Q8_0 = 34 / 32;

/**
 * Tokens a sliding-window layer holds in each engine's default cache, read from the engines' code:
 * - llama.cpp (src/llama-kv-cache-iswa.cpp): GGML_PAD(min(n_ctx, n_swa·n_seq + n_ubatch), 256), one sequence and the
 *   default n_ubatch of 512;
 * - vLLM (vllm/v1/kv_cache_interface.py SlidingWindowSpec): min(window − 1 + max_num_batched_tokens, max_model_len),
 *   with max_num_batched_tokens 8192 (the OpenAI server's default with chunked prefill);
 * - transformers (cache_utils.py DynamicSlidingWindowLayer): the last window − 1 tokens;
 * - mlx-lm (models/gemma3_text.py make_cache): RotatingKVCache(max_size=sliding_window).
 */
const SLIDING_TOKENS: Partial<Record<EngineName, (window: number, context: number) => number>> = {
  llamacpp: (w, ctx) => Math.ceil(Math.min(ctx, w + 512) / 256) * 256,
  vllm: (w, ctx) => Math.min(w - 1 + 8192, ctx),
  transformers: (w, ctx) => Math.min(w - 1, ctx),
  mlx: (w, ctx) => Math.min(w, ctx),
};

/**
 * Each engine's default KV cache for `context` tokens: Σ over layers of KV heads × (key + value dim) × tokens × bytes,
 * sliding layers holding only what the engine keeps of their window. ORT GenAI is not modelled. For MLA models only
 * transformers' per-head cache is computed (llama.cpp and vLLM cache the compressed latent instead).
 *
 * @example
 * kvCacheRows(layout, 131072, ["transformers", "llamacpp"]); // Llama 3.1 8B: 16 GiB f16 each
 */
export function kvCacheRows(layout: LayerLayout, context: number, engines: readonly EngineName[]): KvCacheRow[] {
  const rows: KvCacheRow[] = [];
  for (const engine of engines) {
    const cap = SLIDING_TOKENS[engine];
    if (!cap || (layout.mla && engine !== "transformers")) continue;
    const slidingTokens = layout.sliding ? cap(layout.sliding.window, context) : null;
    let elements = 0;
    for (let l = 0; l < layout.layers; l++) {
      const tokens = layout.sliding?.layers[l] ? slidingTokens! : context;
      elements += (layout.kvHeads[l] ?? 0) * (layout.keyDim + layout.valueDim) * tokens;
    }
    rows.push({ engine, slidingTokens, f16: elements * BYTES_F16, q8_0: elements * BYTES_Q8_0 });
  }
  return rows;
}

/**
 * The fit report for a context: the weights as found (or estimated from the layout), and each engine's KV cache.
 *
 * @example
 * fitReport(info.layout, 131072, weights, ["transformers", "llamacpp", "vllm", "mlx"]);
 */
export function fitReport(layout: LayerLayout | undefined, context: number, weights: WeightsSize | null, engines: readonly EngineName[]): FitReport {
  const notes: string[] = [];
  const w = weights ?? (layout?.parameterEstimate
    ? { bytes: layout.parameterEstimate.parameters * layout.parameterEstimate.bytesPerParameter, source: "estimate" as const, note: layout.parameterEstimate.note }
    : null);
  if (!layout) return { context, weights: w, kvCache: [], notes: ["the layer shapes are unknown: no KV-cache figure"] };
  if (layout.mla) notes.push(`multi-head latent attention (kv_lora_rank ${layout.mla.kvLoraRank}): llama.cpp and vLLM cache the compressed latent, far smaller than transformers' per-head cache; not computed here`);
  return { context, weights: w, kvCache: kvCacheRows(layout, context, engines), notes };
}

/** How `inspect` and `patch` report the sliding-window layers' RoPE (issue 15 point 10). */
export interface SlidingReport {
  /** Sliding layers, of all layers, and their window. */
  layers: number;
  of: number;
  window: number;
  /** "plain": their own RoPE, unscaled; "shared": the model's RoPE, scaling included; "unknown": not modelled. */
  rope: "plain" | "shared" | "unknown";
  theta: number | null;
  /** The scaling (or method) the sliding layers get; null when unknown. */
  scaling: string | null;
  /** The engine code the reading comes from. */
  source: string | null;
}

/**
 * The sliding layers of a layout under a scaling `method` of the full-attention RoPE at `theta`, or undefined.
 *
 * @example
 * slidingReport(gemma3Layout, "yarn", 1e6); // { layers: 29, of: 34, window: 1024, rope: "plain", theta: 10000, scaling: "none", ... }
 */
export function slidingReport(layout: LayerLayout | undefined, method: string, theta: number): SlidingReport | undefined {
  const s = layout?.sliding;
  if (!s) return undefined;
  const base = { layers: s.layers.filter(Boolean).length, of: layout.layers, window: s.window };
  if (!s.rope) return { ...base, rope: "unknown", theta: null, scaling: null, source: null };
  return s.rope.kind === "plain"
    ? { ...base, rope: "plain", theta: s.rope.theta, scaling: "none", source: s.rope.source }
    : { ...base, rope: "shared", theta, scaling: method, source: s.rope.source };
}
