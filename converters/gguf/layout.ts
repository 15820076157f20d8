// A GGUF's layer layout as llama.cpp reads it (block count, KV heads per layer, key/value lengths, which layers slide and
// how llama.cpp rotates them) and the size of its weights, summed from the tensor infos of the header(s).
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import { isLayerCount, type LayerLayout, type SlidingRope, type WeightsSize } from "../../src/core/fit.ts";
import { tensorBytes } from "./ggml-types.ts";
import type { GgufHeader } from "./read.ts";
import { ggufNumber } from "./spec.ts";

/**
 * Architectures whose sliding-window layers llama.cpp rotates with their own plain RoPE, with the default period of
 * full layers (llama_hparams::set_swa_pattern(n): layer il slides when il % n < n − 1):
 * - gemma3 (src/llama-model.cpp, llama_load_hparams_gemma3): set_swa_pattern(6), rope_freq_base_train_swa = 10000,
 *   rope_freq_scale_train_swa = 1: the scaling keys reach only the full layers;
 * - olmo2 with attention.sliding_window (OLMo 3; src/models/olmo2.cpp): set_swa_pattern(sliding_window_pattern or 4),
 *   and its sliding layers call ggml_rope_ext with freq_scale 1, ext_factor 0, attn_factor 1 at rope.freq_base_swa
 *   (default rope.freq_base).
 */
const PLAIN_SWA: Record<string, { period: number; rope: (meta: GGUFTypedMetadata, arch: string) => SlidingRope }> = {
  gemma3: {
    period: 6,
    rope: (meta, arch) => ({ kind: "plain", theta: ggufNumber(meta, `${arch}.rope.freq_base_swa`) ?? 10000, source: "llama.cpp's gemma3 (rope_freq_scale_train_swa 1)" }),
  },
  olmo2: {
    period: 4,
    rope: (meta, arch) => ({
      kind: "plain",
      theta: ggufNumber(meta, `${arch}.rope.freq_base_swa`) ?? ggufNumber(meta, `${arch}.rope.freq_base`) ?? 10000,
      source: "llama.cpp's olmo2 sliding layers (freq_scale 1, ext_factor 0, attn_factor 1)",
    }),
  },
};

/** A numeric key as one value per layer (a scalar repeated, or the stored array). */
function perLayer(meta: GGUFTypedMetadata, key: string, layers: number): number[] | undefined {
  const v = meta[key]?.value;
  if (v === undefined) return undefined;
  return Array.isArray(v) ? Array.from({ length: layers }, (_, i) => Number(v[i] ?? 0)) : Array(layers).fill(Number(v));
}

/** Which layers slide: `attention.sliding_window_pattern` (a period or one bool per layer), else the arch's period. */
function slidingLayers(meta: GGUFTypedMetadata, arch: string, layers: number): boolean[] | undefined {
  const v = meta[`${arch}.attention.sliding_window_pattern`]?.value;
  if (Array.isArray(v)) return Array.from({ length: layers }, (_, i) => Boolean(v[i]));
  const period = v !== undefined ? Number(v) : PLAIN_SWA[arch]?.period;
  return period === undefined ? undefined : Array.from({ length: layers }, (_, il) => period === 0 || il % period < period - 1);
}

/**
 * The layer layout of a GGUF as llama.cpp reads its header, or undefined without a block count.
 *
 * @example
 * ggufLayerLayout(header.metadata, "gemma3")?.sliding; // { window: 1024, layers: [true ×5, false, ...], rope: plain 10000 }
 */
export function ggufLayerLayout(meta: GGUFTypedMetadata, arch: string): LayerLayout | undefined {
  const p = `${arch}.`;
  const layers = ggufNumber(meta, `${p}block_count`);
  if (!isLayerCount(layers)) return undefined;
  const heads = ggufNumber(meta, `${p}attention.head_count`);
  const embedding = ggufNumber(meta, `${p}embedding_length`);
  const kvHeads = perLayer(meta, `${p}attention.head_count_kv`, layers) ?? perLayer(meta, `${p}attention.head_count`, layers);
  const keyDim = ggufNumber(meta, `${p}attention.key_length`) ?? (embedding !== undefined && heads ? Math.floor(embedding / heads) : undefined);
  if (!kvHeads || keyDim === undefined) return undefined;
  const layout: LayerLayout = { layers, kvHeads, keyDim, valueDim: ggufNumber(meta, `${p}attention.value_length`) ?? keyDim };
  const kvLoraRank = ggufNumber(meta, `${p}attention.kv_lora_rank`);
  if (kvLoraRank !== undefined) layout.mla = { kvLoraRank, ropeDim: ggufNumber(meta, `${p}rope.dimension_count`) ?? 0 };
  const window = ggufNumber(meta, `${p}attention.sliding_window`);
  const which = window !== undefined && window > 0 ? slidingLayers(meta, arch, layers) : undefined;
  if (window !== undefined && which?.some(Boolean)) layout.sliding = { window, layers: which, rope: PLAIN_SWA[arch]?.rope(meta, arch) ?? null };
  return layout;
}

/**
 * The weights: the sizes of every tensor the headers list (all shards of a split model).
 *
 * @example
 * ggufWeightsSize([header]).bytes; // Σ tensor bytes by ggml type and shape
 */
export function ggufWeightsSize(headers: readonly GgufHeader[]): WeightsSize {
  let bytes = 0n;
  let unknown = 0;
  for (const h of headers) {
    for (const t of h.tensorInfos) {
      const n = tensorBytes(t.dtype, t.shape);
      if (n === undefined) unknown++;
      else bytes += n;
    }
  }
  const shards = headers.length > 1 ? ` of ${headers.length} shards` : "";
  return {
    bytes: Number(bytes),
    source: "gguf",
    note: unknown ? `tensor sizes from the header${shards}; ${unknown} tensor(s) of unknown ggml types not counted` : `tensor sizes from the header${shards}`,
  };
}
