// M-RoPE (Qwen2-VL, Qwen2.5-VL, Qwen3-VL: `mrope_section` in the rope dict, `rope.dimension_sections` in a GGUF):
// which engines apply a stored scaling (YaRN) on the multimodal rotary embedding and which ignore it, as each
// engine's code reads it. With text alone the three position streams are equal, so M-RoPE computes plain 1-D RoPE
// and an engine that drops the sections but keeps the scaling computes the same frequencies.
import type { EngineName } from "../../types.ts";
import type { RopeMethod } from "../types.ts";
import { scalingFromHfDict, type JsonObject } from "../hf-params.ts";
import { type StoredRope, transformersDict } from "./stored.ts";

/** The M-RoPE layout a file declares. */
export interface MropeSetup {
  /** Rotary pairs per position stream (temporal, height, width). */
  section: number[];
  /** Qwen3-VL interleaves the streams pair by pair instead of in contiguous blocks. */
  interleaved: boolean;
}

/** How one engine treats a scaling stored beside M-RoPE sections. */
interface MropeReading {
  applies: boolean;
  /** What the engine's code does, with the file it was read in. */
  how: string;
}

export const MROPE_READING: Record<EngineName, MropeReading> = {
  // models/qwen3_vl/modeling_qwen3_vl.py (and qwen2_5_vl): Qwen3VLTextRotaryEmbedding takes
  // ROPE_INIT_FUNCTIONS[rope_parameters["rope_type"]] for any type but "default", then splits those inv_freq
  // between the position streams by mrope_section.
  transformers: { applies: true, how: "the rope type's inv_freq (YaRN) split between the position streams (modeling_qwen3_vl.py)" },
  // src/models/qwen2vl.cpp, qwen3vl.cpp: ggml_rope_multi(..., sections, n_ctx_orig, freq_base, freq_scale, ext_factor,
  // attn_factor, beta_fast, beta_slow); ggml_mrope_cache_init blends each pair with the same rope_yarn as 1-D RoPE.
  llamacpp: { applies: true, how: "ggml_rope_multi takes freq_scale, ext_factor and attn_factor (src/models/qwen3vl.cpp)" },
  // vllm/model_executor/layers/rotary_embedding/__init__.py get_rope: rope_type "yarn" with "mrope_section" builds
  // MRotaryEmbedding(scaling_factor=factor, beta_fast, beta_slow, attn_factor, truncate), whose _compute_inv_freq is
  // YaRNScalingRotaryEmbedding's and mscale yarn_get_mscale(factor)·attn_factor (mrope.py).
  vllm: { applies: true, how: "get_rope builds MRotaryEmbedding with YaRN's inv_freq and mscale (rotary_embedding/mrope.py)" },
  // src/python/py/models/builders/qwen.py: Qwen25VLTextModel asserts rope type "mrope" or "default", and the M-RoPE
  // inv_freq / cos-sin caches are 1/(rescale_factors·theta^(2j/d)) with no YaRN blend or attention factor.
  ortGenai: { applies: false, how: "its M-RoPE caches are 1/theta^(2j/d) without YaRN; the Qwen2.5-VL builder asserts rope type mrope or default (builders/qwen.py)" },
  // mlx_lm/models/qwen3_vl.py, qwen2_vl.py: the text model is qwen3/qwen2 with 1-D positions, its RoPE from
  // initialize_rope(rope_scaling); mrope_section is not read (mlx-lm serves text only).
  mlx: { applies: true, how: "the text model (qwen3.py/qwen2.py) gets YaRN from rope_scaling on 1-D text positions; sections unused (mlx_lm/models/qwen3_vl.py)" },
};

const sectionOf = (d: JsonObject | null | undefined): number[] | undefined => {
  const v = d?.["mrope_section"];
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && (x as number) >= 0) ? (v as number[]) : undefined;
};

/**
 * The M-RoPE sections the stored parameters declare (in the dict transformers reads, or either dict), or null.
 *
 * @example
 * mropeOf(readHfConfig("./Qwen3-VL-8B-Instruct").stored); // { section: [24, 20, 20], interleaved: true }
 */
export function mropeOf(s: StoredRope): MropeSetup | null {
  for (const d of [transformersDict(s), s.ropeScaling, s.ropeParameters]) {
    const section = sectionOf(d);
    if (section) return { section, interleaved: d?.["mrope_interleaved"] === true };
  }
  return null;
}

/** What `inspect` and `patch` report for an M-RoPE model: the sections, and which engines apply its scaling. */
export interface MropeReport extends MropeSetup {
  /** The scaling stored beside the sections ("none" when plain). */
  scaling: RopeMethod;
  /** Engines that apply that scaling on M-RoPE, and those that compute plain RoPE instead. */
  applies: EngineName[];
  ignores: EngineName[];
}

/**
 * The M-RoPE report for stored parameters and the engines that read the format, or null without M-RoPE.
 *
 * @example
 * const r = mropeReport(stored, ["transformers", "llamacpp", "vllm", "ortGenai", "mlx"]);
 * // Qwen3-VL patched to YaRN: r.applies = transformers, llamacpp, vllm, mlx; r.ignores = ortGenai
 */
export function mropeReport(s: StoredRope, engines: readonly EngineName[]): MropeReport | null {
  const setup = mropeOf(s);
  if (!setup) return null;
  const scaling = scalingFromHfDict(transformersDict(s)).method;
  const scaled = scaling !== "none";
  return {
    ...setup,
    scaling,
    applies: scaled ? engines.filter((e) => MROPE_READING[e].applies) : [],
    ignores: scaled ? engines.filter((e) => !MROPE_READING[e].applies) : [],
  };
}
