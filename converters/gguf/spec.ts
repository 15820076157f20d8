// What a GGUF header says about RoPE: the raw `{arch}.rope.*` keys, yarnify's RopeSpec, and the
// hyper-parameters llama.cpp's loader derives from the same keys (src/llama-model.cpp).
import { DEEPSEEK2_FAMILY, storedFromSpec } from "../../src/core/rope/engines/stored.ts";
import { GGUFValueType } from "@huggingface/gguf";
import type { GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import type { GgufRopeKeys, StoredRope } from "../../src/core/rope/engines/stored.ts";
import type { RopeMethod, RopeScaling, RopeSpec } from "../../src/core/rope/types.ts";

/** A metadata value with its GGUF type name, as shown by `inspect --json`. */
export interface GgufKeyValue {
  value: number | string | boolean | number[];
  type: GgufTypeName;
}
export type GgufTypeName = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "bool" | "string" | "array" | "u64" | "i64" | "f64";
const TYPE_NAMES: GgufTypeName[] = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];

export function ggufTypeName(type: GGUFValueType): GgufTypeName {
  return TYPE_NAMES[type] ?? "array";
}

/** Architectures whose loader divides `rope.scaling.yarn_log_multiplier` by 0.1 ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]). */
export { DEEPSEEK2_FAMILY };

const toPlain = (v: MetadataValue): GgufKeyValue["value"] =>
  Array.isArray(v) ? v.map((x: MetadataValue) => Number(x)) : typeof v === "bigint" ? Number(v) : v;

/** A numeric metadata value (the first element of an array), or undefined. */
export function ggufNumber(meta: GGUFTypedMetadata, key: string): number | undefined {
  const e = meta[key];
  if (e === undefined) return undefined;
  const v = Array.isArray(e.value) ? e.value[0] : e.value;
  return typeof v === "number" || typeof v === "bigint" ? Number(v) : undefined;
}

function str(meta: GGUFTypedMetadata, key: string): string | undefined {
  const e = meta[key];
  return e !== undefined && typeof e.value === "string" ? e.value : undefined;
}

/**
 * The keys that matter to RoPE: `{arch}.rope.*` and `{arch}.context_length`, with their GGUF types.
 *
 * @example
 * console.log(ggufRopeKeys(header.metadata, header.architecture)); // { "llama.rope.freq_base": { value: 500000, type: "FLOAT32" }, ... }
 */
export function ggufRopeKeys(meta: GGUFTypedMetadata, arch: string): Record<string, GgufKeyValue> {
  const out: Record<string, GgufKeyValue> = {};
  for (const [key, entry] of Object.entries(meta)) {
    if (entry !== undefined && (key === `${arch}.context_length` || key.startsWith(`${arch}.rope.`))) {
      out[key] = { value: toPlain(entry.value as MetadataValue), type: ggufTypeName(entry.type) };
    }
  }
  return out;
}

function scalingMethod(type: string | undefined, factor: number | undefined): RopeMethod {
  if (type === "yarn") return "yarn";
  if (type === "longrope") return "longrope";
  if (type === "none") return "none";
  // llama.cpp treats a missing type as "linear"; with no factor that is plain RoPE.
  return factor !== undefined && factor !== 1 && factor !== 0 ? "linear" : "none";
}

/**
 * yarnify's RopeSpec from a GGUF's metadata.
 *
 * @example
 * const spec = ggufRopeSpec(header.metadata, header.architecture);
 * const p = plan(spec, { factor: 4 });
 */
export function ggufRopeSpec(meta: GGUFTypedMetadata, arch: string): RopeSpec {
  const p = `${arch}.`;
  const embedding = ggufNumber(meta, `${p}embedding_length`);
  const heads = ggufNumber(meta, `${p}attention.head_count`);
  const perHead = embedding !== undefined && heads ? Math.floor(embedding / heads) : undefined;
  const headDim = ggufNumber(meta, `${p}attention.key_length`) ?? perHead ?? ggufNumber(meta, `${p}rope.dimension_count`) ?? 0;
  const rotaryDim = ggufNumber(meta, `${p}rope.dimension_count`) ?? perHead ?? headDim;
  const context = ggufNumber(meta, `${p}context_length`) ?? 0;
  const type = str(meta, `${p}rope.scaling.type`);
  const factor = ggufNumber(meta, `${p}rope.scaling.factor`) ?? ggufNumber(meta, `${p}rope.scale_linear`);
  const method = scalingMethod(type, factor);
  const scaling: RopeScaling = { method };
  let originalContext: number | undefined = context;
  if (method !== "none") {
    if (factor !== undefined) scaling.factor = factor;
    const orig = ggufNumber(meta, `${p}rope.scaling.original_context_length`);
    // llama.cpp falls back to context_length when the original length is absent.
    originalContext = orig !== undefined && orig > 0 ? orig : context;
    scaling.originalContext = originalContext;
    const betaFast = ggufNumber(meta, `${p}rope.scaling.yarn_beta_fast`);
    const betaSlow = ggufNumber(meta, `${p}rope.scaling.yarn_beta_slow`);
    if (betaFast !== undefined) scaling.betaFast = betaFast;
    if (betaSlow !== undefined) scaling.betaSlow = betaSlow;
    const logMul = ggufNumber(meta, `${p}rope.scaling.yarn_log_multiplier`);
    if (logMul !== undefined && logMul !== 0) scaling.mscaleAllDim = DEEPSEEK2_FAMILY.has(arch) ? logMul / 0.1 : logMul;
    const attn = ggufNumber(meta, `${p}rope.scaling.yarn_attn_factor`);
    if (attn !== undefined) scaling.attentionFactor = attn;
    if (method === "yarn") scaling.truncate = true; // llama.cpp always floors/ceils the correction range
  }
  return { theta: ggufNumber(meta, `${p}rope.freq_base`) ?? 10000, headDim, rotaryDim, context, originalContext, scaling };
}

/** The RoPE hyper-parameters llama.cpp's loader derives from the GGUF keys (before any CLI flag). */
export interface LlamaCppRopeParams {
  arch: string;
  /** `{arch}.context_length` (n_ctx_train). */
  nCtxTrain: number;
  /** `{arch}.rope.dimension_count` (n_rot; the YaRN n_dims). */
  nRot: number;
  /** rope_freq_base_train (default 10000). */
  freqBase: number;
  scalingType: "none" | "linear" | "yarn" | "longrope";
  /** rope_freq_scale_train = 1/factor in float32 (1 when absent, zero, or type none). */
  freqScale: number;
  /** n_ctx_orig_yarn, the fallback to n_ctx_train already applied. */
  nCtxOrigYarn: number;
  /** rope_yarn_log_mul after the loader's DeepSeek2 ÷0.1 (0 when absent): the mscale_all_dim it uses. */
  yarnLogMul: number;
  /** `rope.scaling.attn_factor` (hparams.rope_attn_factor, default 1): a multiplier on the YaRN magnitude. */
  ropeAttnFactor: number;
  /** The betas and ext_factor llama.cpp uses (the GGUF keys are read only for grok; else 32/1/auto). */
  betaFast: number;
  betaSlow: number;
  /** -1 means "1 when YaRN, else 0" (resolved by the context). */
  extFactor: number;
  /** Keys present in the file that this llama.cpp ignores for this architecture. */
  ignoredKeys: string[];
}

const READS_YARN_EXTRAS: ReadonlySet<string> = new Set(["grok"]);

/**
 * The RoPE parameters llama.cpp's loader derives from a GGUF's keys (defaults filled in as llama-model.cpp fills them).
 *
 * @example
 * const p = llamaCppRopeParams(header.metadata, header.architecture);
 * console.log(p.freqBase, p.scalingType, p.nCtxTrain);
 */
export function llamaCppRopeParams(meta: GGUFTypedMetadata, arch: string): LlamaCppRopeParams {
  const p = `${arch}.`;
  const f32 = Math.fround;
  const nCtxTrain = ggufNumber(meta, `${p}context_length`) ?? 0;
  const typeStr = str(meta, `${p}rope.scaling.type`) ?? "linear";
  const scalingType = (["none", "linear", "yarn", "longrope"] as const).find((t) => t === typeStr) ?? "linear";
  const factor = ggufNumber(meta, `${p}rope.scaling.factor`) ?? ggufNumber(meta, `${p}rope.scale_linear`) ?? 0;
  const freqScale = scalingType === "none" || factor === 0 ? 1 : f32(1 / f32(factor));
  const orig = ggufNumber(meta, `${p}rope.scaling.original_context_length`) ?? 0;
  const rawLogMul = ggufNumber(meta, `${p}rope.scaling.yarn_log_multiplier`) ?? 0;
  const extras = READS_YARN_EXTRAS.has(arch);
  const extraKeys = ["yarn_beta_fast", "yarn_beta_slow", "yarn_ext_factor", "yarn_attn_factor"].map((k) => `${p}rope.scaling.${k}`);
  const embedding = ggufNumber(meta, `${p}embedding_length`);
  const heads = ggufNumber(meta, `${p}attention.head_count`);
  return {
    arch,
    nCtxTrain,
    nRot: ggufNumber(meta, `${p}rope.dimension_count`) ?? (embedding !== undefined && heads ? Math.floor(embedding / heads) : 0),
    freqBase: f32(ggufNumber(meta, `${p}rope.freq_base`) ?? 10000),
    scalingType,
    freqScale,
    nCtxOrigYarn: orig !== 0 ? orig : nCtxTrain,
    yarnLogMul: DEEPSEEK2_FAMILY.has(arch) ? f32(f32(rawLogMul) / f32(0.1)) : f32(rawLogMul),
    ropeAttnFactor: f32(ggufNumber(meta, `${p}rope.scaling.attn_factor`) ?? 1),
    betaFast: f32((extras ? ggufNumber(meta, extraKeys[0]) : undefined) ?? 32),
    betaSlow: f32((extras ? ggufNumber(meta, extraKeys[1]) : undefined) ?? 1),
    extFactor: f32((extras ? ggufNumber(meta, extraKeys[2]) : undefined) ?? -1),
    ignoredKeys: extras ? [] : extraKeys.filter((k) => meta[k] !== undefined),
  };
}

/**
 * The GGUF rope keys in the shape the engine profiles read (src/core/rope/engines/stored.ts).
 *
 * @example
 * const keys = ggufStoredKeys(header.metadata, "qwen2"); // as llamacppFromGguf reads them
 */
export function ggufStoredKeys(meta: GGUFTypedMetadata, arch: string): GgufRopeKeys {
  const p = `${arch}.rope.scaling.`;
  const keys: GgufRopeKeys = { architecture: arch, contextLength: ggufNumber(meta, `${arch}.context_length`) ?? 0 };
  const put = <K extends keyof GgufRopeKeys>(k: K, v: GgufRopeKeys[K] | undefined) => {
    if (v !== undefined) keys[k] = v;
  };
  put("scalingType", str(meta, `${p}type`));
  put("factor", ggufNumber(meta, `${p}factor`) ?? ggufNumber(meta, `${arch}.rope.scale_linear`));
  put("originalContextLength", ggufNumber(meta, `${p}original_context_length`));
  put("yarnLogMultiplier", ggufNumber(meta, `${p}yarn_log_multiplier`));
  put("attnFactor", ggufNumber(meta, `${p}attn_factor`));
  put("yarnBetaFast", ggufNumber(meta, `${p}yarn_beta_fast`));
  put("yarnBetaSlow", ggufNumber(meta, `${p}yarn_beta_slow`));
  return keys;
}

/**
 * StoredRope for a GGUF: the llama.cpp keys, plus the transformers-style dict the same scaling
 * would be in a config.json, so every engine profile can judge the file.
 *
 * @example
 * const engines = compareEngines(engineViews(ggufStoredRope(header.metadata, header.architecture)));
 */
export function ggufStoredRope(meta: GGUFTypedMetadata, arch: string): StoredRope {
  return storedFromSpec(ggufRopeSpec(meta, arch), { architecture: arch, gguf: ggufStoredKeys(meta, arch) });
}
