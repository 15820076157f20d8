// Small random-weight models of every family the evaluator runs, from a fixed seed, written both as a Hugging Face
// directory (config.json, safetensors, the tiny model's tokenizer) and as a GGUF the way llama.cpp's converter
// writes it (convert_hf_to_gguf.py and conversion/*.py: tensor names, reversed shapes, Llama's Q/K row permutation,
// Gemma's norms stored as w + 1, Phi-3's fused tensors and longrope factor tensors, the tiny model's GGUF vocabulary
// so llama.cpp tokenizes as the HF tokenizer does). Weights are scaled so that the logits are far from uniform.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gguf, GGUFValueType, type MetadataValue } from "@huggingface/gguf";
import { seededRandom } from "../../src/core/random.ts";
import { toFloat16Bits } from "../../src/core/float16.ts";
import { ggufHeaderBytes, type MakeGgufParams } from "./gguf-make.ts";
import { GGML, quantize, toBf16, type QuantType } from "./ggml-quantize.ts";
import { writeSafetensors, type RawTensor } from "./safetensors-write.ts";
import { sharedPath } from "./shared.ts";
import { shardLocations } from "../../converters/gguf/split.ts";

export type FixtureName = "llama" | "llama3" | "mistral" | "qwen2" | "qwen3" | "gemma3" | "phi3" | "llama-q";

export interface Fixture {
  name: FixtureName;
  /** config.json as written. */
  config: Record<string, unknown>;
  /** GGUF general.architecture. */
  arch: string;
  /** Context the model was trained at (the eval's first length; 2× is the extended one). */
  trained: number;
}

const VOCAB = 4096;
const base = (layers: number, heads: number, kvHeads: number, headDim: number | undefined, hidden = 64, intermediate = 128) => ({
  hidden_size: hidden,
  intermediate_size: intermediate,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: kvHeads,
  ...(headDim !== undefined && { head_dim: headDim }),
  vocab_size: VOCAB,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  hidden_act: "silu",
  bos_token_id: 0,
  eos_token_id: 0,
  tie_word_embeddings: false,
  torch_dtype: "float32",
});
// Bases scaled to the 256-token context (real models pair 1e6 with 32k tokens), so that RoPE, and its scaling, matter.
const ropeDefault = (theta: number) => ({ rope_parameters: { rope_type: "default", rope_theta: theta } });

/** Every fixture: one per family, Llama 3's frequencies as a Llama variant, and a K-quant-sized Llama. */
export const FIXTURES: Readonly<Record<FixtureName, Fixture>> = {
  llama: { name: "llama", arch: "llama", trained: 256, config: { architectures: ["LlamaForCausalLM"], model_type: "llama", ...base(2, 4, 2, 32), ...ropeDefault(10000) } },
  llama3: {
    name: "llama3",
    arch: "llama",
    trained: 256,
    config: {
      architectures: ["LlamaForCausalLM"], model_type: "llama", ...base(2, 4, 2, 32),
      rope_parameters: { rope_type: "llama3", rope_theta: 10000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 },
    },
  },
  // The window covers twice the trained context: llama.cpp's `llama` architecture has none (the converter drops it).
  mistral: { name: "mistral", arch: "llama", trained: 256, config: { architectures: ["MistralForCausalLM"], model_type: "mistral", ...base(2, 4, 2, 32), sliding_window: 512, ...ropeDefault(1e4) } },
  qwen2: {
    name: "qwen2",
    arch: "qwen2",
    trained: 256,
    config: { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", ...base(2, 2, 1, undefined), tie_word_embeddings: true, use_sliding_window: false, sliding_window: 4096, max_window_layers: 2, ...ropeDefault(1e4) },
  },
  qwen3: { name: "qwen3", arch: "qwen3", trained: 256, config: { architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", ...base(2, 4, 2, 32), rms_norm_eps: 1e-6, tie_word_embeddings: true, ...ropeDefault(1e4) } },
  gemma3: {
    name: "gemma3",
    arch: "gemma3",
    trained: 256,
    config: {
      architectures: ["Gemma3ForCausalLM"], model_type: "gemma3_text", ...base(6, 4, 2, 32), rms_norm_eps: 1e-6, tie_word_embeddings: true,
      hidden_act: undefined, hidden_activation: "gelu_pytorch_tanh", query_pre_attn_scalar: 32, sliding_window: 64,
      layer_types: ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
      rope_parameters: { full_attention: { rope_type: "default", rope_theta: 1e4 }, sliding_attention: { rope_type: "default", rope_theta: 1e3 } },
    },
  },
  phi3: {
    name: "phi3",
    arch: "phi3",
    trained: 256,
    config: {
      architectures: ["Phi3ForCausalLM"], model_type: "phi3", ...base(2, 2, 1, undefined), max_position_embeddings: 512, original_max_position_embeddings: 256,
      partial_rotary_factor: 0.5, rope_theta: 10000, sliding_window: null,
      rope_scaling: {
        type: "longrope",
        short_factor: [1, 1, 1.02, 1.05, 1.1, 1.2, 1.3, 1.4],
        long_factor: [1, 1.1, 1.4, 2, 3, 4.5, 6.5, 8],
      },
    },
  },
  // Rows of 256 values: K-quants need whole 256-value blocks (llama-quantize falls back otherwise).
  "llama-q": { name: "llama-q", arch: "llama", trained: 256, config: { architectures: ["LlamaForCausalLM"], model_type: "llama", ...base(2, 4, 2, 64, 256, 512), ...ropeDefault(10000) } },
};

/** A model's tensors in transformers' layout ([out, in] row-major), under transformers' names. */
export type FixtureWeights = Map<string, { shape: number[]; data: Float32Array }>;

const cfgNum = (c: Record<string, unknown>, k: string, d?: number) => (typeof c[k] === "number" ? (c[k] as number) : d!);

function dims(f: Fixture) {
  const c = f.config;
  const H = cfgNum(c, "hidden_size"), heads = cfgNum(c, "num_attention_heads"), kv = cfgNum(c, "num_key_value_heads");
  return { H, heads, kv, D: cfgNum(c, "head_dim", H / heads), I: cfgNum(c, "intermediate_size"), layers: cfgNum(c, "num_hidden_layers") };
}

/** The fixture's weights, the same on every runtime; each fixture draws from its own seed (its name's). */
export function fixtureWeights(f: Fixture, seed = [...f.name].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 17)): FixtureWeights {
  const rnd = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const fill = (n: number, std: number, mean = 0) => Float32Array.from({ length: n }, () => mean + std * normal());
  const { H, heads, kv, D, I, layers } = dims(f);
  const w: FixtureWeights = new Map();
  const put = (name: string, shape: number[], std: number, mean = 0) => w.set(name, { shape, data: fill(shape.reduce((a, b) => a * b, 1), std, mean) });
  const gemma = f.name === "gemma3";
  // Gemma's config.json holds w of a (1 + w) multiplier.
  const norm = (name: string, n: number) => put(name, [n], 0.1, gemma ? 0 : 1);
  // Q·Kᵀ/√d of a few units: attention peaked but not one-hot, so positions (and RoPE) matter.
  const qk = Math.sqrt(6 / H);
  const tied = f.config["tie_word_embeddings"] === true;
  // Logits of standard deviation about 3 whatever the width: far from uniform, not one-hot.
  const logitScale = 3 / Math.sqrt(H);
  put("model.embed_tokens.weight", [VOCAB, H], tied ? logitScale : 1);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`, H);
    if (f.name === "phi3") {
      put(`${p}self_attn.qkv_proj.weight`, [(heads + 2 * kv) * D, H], qk);
    } else {
      put(`${p}self_attn.q_proj.weight`, [heads * D, H], qk);
      put(`${p}self_attn.k_proj.weight`, [kv * D, H], qk);
      put(`${p}self_attn.v_proj.weight`, [kv * D, H], 1 / Math.sqrt(H));
    }
    if (f.name === "qwen2") {
      put(`${p}self_attn.q_proj.bias`, [heads * D], 0.5);
      put(`${p}self_attn.k_proj.bias`, [kv * D], 0.5);
      put(`${p}self_attn.v_proj.bias`, [kv * D], 0.5);
    }
    if (f.name === "qwen3" || gemma) {
      // Head norms leave rms 1 per head: a larger gain keeps the scores spread.
      put(`${p}self_attn.q_norm.weight`, [D], 0.1, gemma ? 1.5 : 2.5);
      put(`${p}self_attn.k_norm.weight`, [D], 0.1, gemma ? 1.5 : 2.5);
    }
    put(`${p}self_attn.o_proj.weight`, [H, heads * D], 1 / Math.sqrt(heads * D));
    norm(`${p}post_attention_layernorm.weight`, H);
    if (gemma) {
      norm(`${p}pre_feedforward_layernorm.weight`, H);
      norm(`${p}post_feedforward_layernorm.weight`, H);
    }
    if (f.name === "phi3") put(`${p}mlp.gate_up_proj.weight`, [2 * I, H], 1 / Math.sqrt(H));
    else {
      put(`${p}mlp.gate_proj.weight`, [I, H], 1 / Math.sqrt(H));
      put(`${p}mlp.up_proj.weight`, [I, H], 1 / Math.sqrt(H));
    }
    put(`${p}mlp.down_proj.weight`, [H, I], 1 / Math.sqrt(I));
  }
  norm("model.norm.weight", H);
  if (!tied) put("lm_head.weight", [VOCAB, H], logitScale);
  return w;
}

export type HfDtype = "F32" | "F16" | "BF16";

function encode(data: Float32Array, dtype: HfDtype): Uint8Array {
  if (dtype === "F32") return new Uint8Array(data.slice().buffer);
  if (dtype === "F16") return new Uint8Array(toFloat16Bits(data).buffer);
  return toBf16(data);
}

/** Writes the HF directory: config.json, one or `shards` safetensors files (with an index), the tokenizer files. */
export function writeHfFixture(dir: string, f: Fixture, w: FixtureWeights, opts: { dtype?: HfDtype; shards?: number } = {}): void {
  mkdirSync(dir, { recursive: true });
  const dtype = opts.dtype ?? "F32";
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...f.config, torch_dtype: dtype === "F32" ? "float32" : dtype === "F16" ? "float16" : "bfloat16" }, null, 2));
  const tiny = sharedPath("models/tiny-llama-py");
  copyFileSync(join(tiny, "tokenizer.json"), join(dir, "tokenizer.json"));
  copyFileSync(join(tiny, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  const names = [...w.keys()];
  const shards = opts.shards ?? 1;
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = shards === 1 ? "model.safetensors" : `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const mine = names.filter((_, i) => i % shards === s);
    const tensors: Record<string, RawTensor> = {};
    for (const n of mine) {
      const t = w.get(n)!;
      tensors[n] = { dtype, shape: t.shape, bytes: encode(t.data, dtype) };
      weightMap[n] = file;
    }
    writeSafetensors(join(dir, file), tensors);
  }
  if (shards > 1) writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

type Kv = NonNullable<MakeGgufParams["kv"]>;
const u32 = (value: number) => ({ value, type: GGUFValueType.UINT32 });
const f32 = (value: number) => ({ value, type: GGUFValueType.FLOAT32 });

let vocabKv: Promise<Kv> | undefined;
/** The tiny model's tokenizer.ggml.* keys, typed, to copy into every fixture GGUF. */
export function tinyVocab(): Promise<Kv> {
  vocabKv ??= (async () => {
    const { typedMetadata } = await gguf(sharedPath("models/tiny-llama-py/tiny-llama-f32.gguf"), { typedMetadata: true, allowLocalFile: true });
    const out: Kv = {};
    for (const [k, v] of Object.entries(typedMetadata)) {
      if (k.startsWith("tokenizer.")) {
        const e = v as { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType };
        out[k] = e.subType === undefined ? { value: e.value, type: e.type } : { value: e.value, type: e.type, subType: e.subType };
      }
    }
    return out;
  })();
  return vocabKv;
}

/** LlamaModel.permute: each head's rotate-half pairs (j, j + d/2) become adjacent rows (2j, 2j + 1). */
function permuteQk(w: Float32Array, heads: number, rows: number, width: number): Float32Array {
  const d = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let j = 0; j < d / 2; j++) {
        const from = (h * d + half * (d / 2) + j) * width;
        out.set(w.subarray(from, from + width), (h * d + 2 * j + half) * width);
      }
    }
  }
  return out;
}

/** The HF → GGUF name of a layer tensor (gguf-py's tensor_mapping for these families). */
const GGUF_LAYER_NAMES: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.qkv_proj.weight": "attn_qkv.weight",
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.gate_up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
  "pre_feedforward_layernorm.weight": "ffn_norm.weight",
  "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
};

function ggufName(f: Fixture, hf: string): string {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf)!;
  // Gemma's post_attention_layernorm is the attention's output norm; elsewhere it is the MLP's pre-norm.
  const rest = m[2] === "post_attention_layernorm.weight" ? (f.name === "gemma3" ? "post_attention_norm.weight" : "ffn_norm.weight") : GGUF_LAYER_NAMES[m[2]!]!;
  return `blk.${m[1]}.${rest}`;
}

/** The converter's `{arch}.*` keys for the fixture's config. */
export function archKeys(f: Fixture): Kv {
  const c = f.config;
  const a = f.arch;
  const { H, heads, kv, D, I, layers } = dims(f);
  const kvs: Kv = {
    [`${a}.block_count`]: u32(layers),
    [`${a}.context_length`]: u32(cfgNum(c, "max_position_embeddings")),
    [`${a}.embedding_length`]: u32(H),
    [`${a}.feed_forward_length`]: u32(I),
    [`${a}.attention.head_count`]: u32(heads),
    [`${a}.attention.head_count_kv`]: u32(kv),
    [`${a}.attention.layer_norm_rms_epsilon`]: f32(cfgNum(c, "rms_norm_eps")),
  };
  const rp = c["rope_parameters"] as Record<string, unknown> | undefined;
  const full = (rp?.["full_attention"] as Record<string, unknown> | undefined) ?? rp;
  kvs[`${a}.rope.freq_base`] = f32((full?.["rope_theta"] as number | undefined) ?? cfgNum(c, "rope_theta"));
  if (c["head_dim"] !== undefined) {
    kvs[`${a}.attention.key_length`] = u32(D);
    kvs[`${a}.attention.value_length`] = u32(D);
  }
  if (a === "llama") {
    kvs[`${a}.vocab_size`] = u32(VOCAB);
    kvs[`${a}.rope.dimension_count`] = u32(D);
  }
  if (f.name === "gemma3") {
    kvs[`${a}.attention.sliding_window`] = u32(cfgNum(c, "sliding_window"));
    const local = (rp?.["sliding_attention"] as Record<string, unknown>)["rope_theta"] as number;
    kvs[`${a}.rope.freq_base_swa`] = f32(local);
  }
  if (f.name === "phi3") {
    // Phi3MiniModel: rope dims int(prf·hidden)//heads, the original context, longrope's attention factor.
    const original = cfgNum(c, "original_max_position_embeddings");
    const scale = cfgNum(c, "max_position_embeddings") / original;
    kvs[`${a}.rope.dimension_count`] = u32(Math.floor(cfgNum(c, "partial_rotary_factor") * H) / heads);
    kvs[`${a}.rope.scaling.original_context_length`] = u32(original);
    kvs[`${a}.rope.scaling.attn_factor`] = f32(scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1);
    kvs[`${a}.attention.sliding_window`] = u32(0);
  }
  return kvs;
}

/** llama3's per-pair factors as LlamaModel.generate_extra_tensors computes them (float64, stored f32). */
function llama3Factors(c: Record<string, unknown>, D: number): Float32Array {
  const rp = c["rope_parameters"] as Record<string, number>;
  const base = rp["rope_theta"]!, factor = rp["factor"]!, lo = rp["low_freq_factor"]!, hi = rp["high_freq_factor"]!, old = rp["original_max_position_embeddings"]!;
  return Float32Array.from({ length: D / 2 }, (_, j) => {
    const freq = Math.fround(1 / Math.pow(base, Math.fround((2 * j) / D)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < old / hi) return 1;
    if (wavelen > old / lo) return factor;
    const smooth = (old / wavelen - lo) / (hi - lo);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

/** How each 2-D tensor of a GGUF is stored: F32, F16, or a quantization (Q4_K files keep output.weight in Q6_K as Q4_K_M does). */
export type GgufType = "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0" | "Q4_1" | "Q5_0" | "Q5_1" | "Q2_K" | "Q4_K" | "Q5_K";

/**
 * Writes the fixture as llama.cpp's converter (and llama-quantize, for quantized types) would; with `shards` > 1,
 * `file` names shard 1 (`x-00001-of-0000N.gguf`) and the tensors are spread as gguf-split spreads them: metadata in
 * shard 1, only the split.* keys in the others.
 */
export async function writeGgufFixture(file: string, f: Fixture, w: FixtureWeights, type: GgufType = "F32", opts: { shards?: number } = {}): Promise<void> {
  const { heads, kv, D } = dims(f);
  const tensors: GgufTensor[] = [];
  const add = (name: string, shape: number[], data: Float32Array) => {
    // Vectors stay F32, as the converter and llama-quantize keep them.
    const t: QuantType = shape.length === 1 ? "F32" : type === "Q4_K" && name === "output.weight" ? "Q6_K" : type;
    tensors.push({ name, shape: [...shape].reverse(), type: GGML[t], bytes: quantize(data, t) });
  };
  for (const [hf, t] of w) {
    let data = t.data;
    const name = ggufName(f, hf);
    if (f.arch === "llama" && /self_attn\.q_proj\./.test(hf)) data = permuteQk(data, heads, t.shape[0]!, t.shape[1] ?? 1);
    if (f.arch === "llama" && /self_attn\.k_proj\./.test(hf)) data = permuteQk(data, kv, t.shape[0]!, t.shape[1] ?? 1);
    // Gemma3Model.norm_shift: every *norm.weight gets + 1.
    if (f.name === "gemma3" && hf.endsWith("norm.weight")) data = data.map((x) => x + 1);
    add(name, t.shape, data);
  }
  if (f.name === "llama3") add("rope_freqs.weight", [D / 2], llama3Factors(f.config, D));
  if (f.name === "phi3") {
    const rs = f.config["rope_scaling"] as { short_factor: number[]; long_factor: number[] };
    add("rope_factors_long.weight", [rs.long_factor.length], Float32Array.from(rs.long_factor));
    add("rope_factors_short.weight", [rs.short_factor.length], Float32Array.from(rs.short_factor));
  }
  const fileType = { F32: 0, F16: 1, BF16: 32, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q4_K: 15, Q5_K: 17 }[type];
  // general.name without the family: llama.cpp's vocabulary loader special-cases names containing "phi3" and then
  // needs Phi-3's own special tokens, which the tiny model's vocabulary lacks.
  const keys: Kv = { "general.name": { value: "yarnify-fixture", type: GGUFValueType.STRING }, "general.file_type": u32(fileType), ...archKeys(f), ...(await tinyVocab()) };
  const shards = opts.shards ?? 1;
  if (shards === 1) return writeGguf(file, { arch: f.arch, kv: keys }, tensors);
  const split = (no: number): Kv => ({
    "split.no": { value: no, type: GGUFValueType.UINT16 },
    "split.count": { value: shards, type: GGUFValueType.UINT16 },
    "split.tensors.count": { value: tensors.length, type: GGUFValueType.INT32 },
  });
  const per = Math.ceil(tensors.length / shards);
  shardLocations(file).forEach((path, i) => {
    const part = tensors.slice(i * per, (i + 1) * per);
    writeGguf(path, i === 0 ? { arch: f.arch, kv: { ...keys, ...split(0) } } : { noArch: true, kv: split(i) }, part);
  });
}

/** A GGUF with only the Llama fixture's keys and the tiny model's vocabulary, its pre-tokenizer set to `pre` (vocab-only loads). */
export async function writeVocabGguf(file: string, pre: string): Promise<void> {
  const vocab = await tinyVocab();
  const kv: Kv = { ...archKeys(FIXTURES.llama), ...vocab, "tokenizer.ggml.pre": { value: pre, type: GGUFValueType.STRING } };
  writeGguf(file, { arch: "llama", kv }, []);
}

/** GPT-2's byte-level alphabet back to bytes (the inverse of its bytes_to_unicode). */
function byteLevelDecoder(): Map<string, number> {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
  return map;
}

/**
 * A SentencePiece ("llama" model) vocabulary for tokenizer tests, built from the tiny model's BPE tokens: each
 * decoded to its text with spaces as "▁", scored by its id (earlier merges first), after <unk>, <s>, </s> and the
 * 256 <0xXX> byte tokens; `userDefined` texts are added as user-defined tokens.
 */
export async function writeSpmVocabGguf(file: string, opts: { addSpacePrefix: boolean; userDefined: string[] }): Promise<void> {
  const vocab = await tinyVocab();
  const bpe = vocab["tokenizer.ggml.tokens"]!.value as string[];
  const decode = byteLevelDecoder();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const tokens = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)];
  const types = [2, 3, 3, ...new Array<number>(256).fill(6)];
  const seen = new Set(tokens);
  for (const t of bpe.slice(1)) {
    let text: string;
    try {
      text = utf8.decode(Uint8Array.from([...t].map((c) => decode.get(c)!))).replaceAll(" ", "\u2581");
    } catch {
      continue; // a partial UTF-8 sequence is no SentencePiece piece
    }
    if (text === "" || seen.has(text)) continue;
    seen.add(text);
    tokens.push(text);
    types.push(1);
  }
  for (const u of opts.userDefined) {
    tokens.push(u);
    types.push(4);
  }
  const scores = tokens.map((_, i) => (types[i] === 1 ? -i : 0));
  const array = (value: MetadataValue, subType: GGUFValueType) => ({ value, type: GGUFValueType.ARRAY, subType });
  const kv: Kv = {
    ...archKeys(FIXTURES.llama),
    "tokenizer.ggml.model": { value: "llama", type: GGUFValueType.STRING },
    "tokenizer.ggml.tokens": array(tokens, GGUFValueType.STRING),
    "tokenizer.ggml.scores": array(scores, GGUFValueType.FLOAT32),
    "tokenizer.ggml.token_type": array(types, GGUFValueType.INT32),
    "tokenizer.ggml.bos_token_id": u32(1),
    "tokenizer.ggml.eos_token_id": u32(2),
    "tokenizer.ggml.unknown_token_id": u32(0),
    "tokenizer.ggml.add_space_prefix": { value: opts.addSpacePrefix, type: GGUFValueType.BOOL },
  };
  writeGguf(file, { arch: "llama", kv }, []);
}

interface GgufTensor {
  name: string;
  /** ggml order (fastest dimension first). */
  shape: number[];
  type: number;
  bytes: Uint8Array;
}

function writeGguf(file: string, head: Omit<MakeGgufParams, "tensors">, tensors: GgufTensor[]): void {
  const { header, tensorBytes } = ggufHeaderBytes({ ...head, tensors: tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type })) });
  const padded = tensorBytes.map((n) => Math.ceil(n / 32) * 32);
  const out = new Uint8Array(header.length + padded.reduce((a, b) => a + b, 0));
  out.set(header, 0);
  let at = header.length;
  tensors.forEach((t, i) => {
    out.set(t.bytes, at);
    at += padded[i]!;
  });
  writeFileSync(file, out);
}

/** The first `count` documents of the shared eval set. */
export function evalDocs(count: number): string[] {
  return (JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] }).docs.slice(0, count).map((d) => d.text);
}
