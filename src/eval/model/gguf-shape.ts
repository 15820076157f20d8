// A GGUF header as the forward pass's shape, read as llama.cpp's loader reads it (src/llama-model.cpp and
// src/models/<arch>.cpp), so that yarnify on a GGUF computes what llama.cpp computes on it.
import { ModelFormatError } from "../../core/errors.ts";
import { defaultInvFreq } from "../../core/rope/default.ts";
import { ggufNumber, ggufRopeSpec } from "../../../converters/gguf/spec.ts";
import type { GgufSource } from "../../weights/gguf-source.ts";
import { familyOfGguf } from "./families.ts";
import type { LayerShape, ModelRope, ModelShape } from "./model-shape.ts";

/**
 * The family, shape and RoPE of an opened GGUF.
 *
 * @example
 * const { shape, rope } = await readGgufShape(await openGgufSource("model.gguf"));
 */
export async function readGgufShape(src: GgufSource): Promise<{ shape: ModelShape; rope: ModelRope }> {
  const h = src.header;
  const arch = h.architecture;
  const family = familyOfGguf(arch, src.file);
  const meta = h.metadata;
  const key = (k: string) => ggufNumber(meta, `${arch}.${k}`);
  const need = (k: string): number => {
    const v = key(k);
    if (v === undefined || !Number.isInteger(v) || v < 1) throw new ModelFormatError(src.file, `${arch}.${k} missing or not a positive integer`);
    return v;
  };
  const hidden = need("embedding_length");
  const heads = need("attention.head_count");
  const kvHeads = key("attention.head_count_kv") ?? heads;
  const headDim = key("attention.key_length") ?? hidden / heads;
  if (!Number.isInteger(headDim) || heads % kvHeads !== 0) throw new ModelFormatError(src.file, `${heads} heads over ${kvHeads} KV heads of ${headDim} dims is not a valid attention shape`);
  if (!src.has("token_embd.weight")) throw new ModelFormatError(src.file, "no tensor named token_embd.weight");
  const [vocab] = src.shape("token_embd.weight");
  const layerCount = need("block_count");
  // llama.cpp's sliding window: only where the architecture reads it (Gemma 3: every layer but each pattern-th).
  const swa = family.ggufWindows === "pattern" ? key("attention.sliding_window") ?? 0 : 0;
  const period = key("attention.sliding_window_pattern") ?? 6;
  const layers: LayerShape[] = Array.from({ length: layerCount }, (_, i) =>
    swa > 0 && i % period < period - 1 ? { rope: "local", window: swa } : { rope: "global", window: 0 });
  const rotaryDim = key("rope.dimension_count") ?? headDim;
  // src/models/gemma3.cpp: 1/√head_dim, but 1/√(hidden/heads) for the 27B (62 layers), whose query_pre_attn_scalar it is.
  const scaleDim = family.queryPreAttnScalar && layerCount === 62 ? hidden / heads : headDim;
  const shape: ModelShape = {
    family,
    architecture: arch,
    hidden,
    heads,
    kvHeads,
    headDim,
    rotaryDim,
    intermediate: need("feed_forward_length"),
    vocab: vocab!,
    eps: key("attention.layer_norm_rms_epsilon") ?? 1e-5,
    layers,
    attentionScale: Math.fround(1 / Math.sqrt(scaleDim)),
    embedScale: family.scaleEmbeddings ? Math.fround(Math.sqrt(hidden)) : 1,
  };
  if (layers.some((l) => l.rope === "local")) {
    // Sliding layers keep rope.freq_base_swa (default 10000) and freq_scale_swa 1: plain RoPE whatever the scaling.
    shape.localRope = { invFreq: defaultInvFreq(rotaryDim, key("rope.freq_base_swa") ?? 10000), attentionFactor: 1 };
  }
  return { shape, rope: await ggufRope(src, rotaryDim) };
}

/** The header's RoPE, with Phi-3's longrope factor tensors and Llama 3's rope_freqs read from the file. */
async function ggufRope(src: GgufSource, rotaryDim: number): Promise<ModelRope> {
  const arch = src.header.architecture;
  const meta = src.header.metadata;
  const spec = ggufRopeSpec(meta, arch);
  spec.rotaryDim = rotaryDim;
  const factors = async (name: string) => {
    const v = Array.from(await src.read(name));
    if (v.length !== rotaryDim / 2) throw new ModelFormatError(src.file, `tensor ${name} has ${v.length} values, rope.dimension_count implies ${rotaryDim / 2}`);
    return v;
  };
  if (src.has("rope_factors_long.weight") && src.has("rope_factors_short.weight")) {
    // llama.cpp picks the long factors when the context exceeds original_context_length (get_rope_factors) and
    // scales cos/sin by rope.scaling.attn_factor: transformers' longrope, with the attention factor as stored.
    const original = ggufNumber(meta, `${arch}.rope.scaling.original_context_length`) ?? spec.context;
    spec.originalContext = original;
    spec.scaling = {
      method: "longrope",
      originalContext: original,
      shortFactor: await factors("rope_factors_short.weight"),
      longFactor: await factors("rope_factors_long.weight"),
      attentionFactor: ggufNumber(meta, `${arch}.rope.scaling.attn_factor`) ?? 1,
    };
    return { spec };
  }
  return src.has("rope_freqs.weight") ? { spec, freqFactors: await factors("rope_freqs.weight") } : { spec };
}
