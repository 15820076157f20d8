// What a GGUF header says about RoPE: the raw `{arch}.rope.*` keys, yarnify's RopeSpec, and the
// hyper-parameters llama.cpp's loader derives from the same keys (src/llama-model.cpp).
import { DEEPSEEK2_FAMILY, storedFromSpec } from "../../src/core/rope/engines/stored.ts";
import { GGUFValueType } from "@huggingface/gguf";
import type { GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import type { GgufRopeKeys, StoredRope } from "../../src/core/rope/engines/stored.ts";
import type { RopeMethod, RopeScaling, RopeSpec } from "../../src/core/rope/types.ts";
import { checkRopeSpec, describeValue, ropeNumberProblem, type RopeNumberKind } from "../../src/core/rope/limits.ts";
import { YarnifyError } from "../../src/core/errors.ts";
import { GgufError } from "./errors.ts";
import { llama3FromFactors } from "../../src/core/rope/llama3.ts";
import { isNeutral, type RopeTensors } from "./freq-tensors.ts";

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

/** Where a GGUF's spec comes from beyond its keys: the file (named in errors) and its frequency tensors. */
export interface GgufSpecOptions {
  file?: string;
  tensors?: RopeTensors;
}

/** The numeric `{arch}.` keys a spec is read from, and the kind of number each must be (src/core/rope/limits.ts). */
const NUMERIC_KEYS: Array<[string, RopeNumberKind, { zeroMeansAbsent?: boolean }?]> = [
  ["context_length", "context"],
  ["embedding_length", "size"],
  ["attention.key_length", "headDim"],
  ["rope.dimension_count", "rotaryDim"],
  ["rope.freq_base", "theta"],
  // llama.cpp reads a factor of 0 as "no scaling" and an original length of 0 as "same as context_length".
  ["rope.scaling.factor", "factor", { zeroMeansAbsent: true }],
  ["rope.scale_linear", "factor", { zeroMeansAbsent: true }],
  ["rope.scaling.original_context_length", "context", { zeroMeansAbsent: true }],
  ["rope.scaling.yarn_beta_fast", "finite"],
  ["rope.scaling.yarn_beta_slow", "finite"],
  ["rope.scaling.yarn_log_multiplier", "finite"],
  ["rope.scaling.yarn_attn_factor", "positive"],
  ["rope.scaling.attn_factor", "positive"],
];

const isNumeric = (v: unknown) => typeof v === "number" || typeof v === "bigint";

/**
 * Every RoPE key of a GGUF checked for type and bounds, then the spec built from them: a GGUF with a value no engine
 * can use (context_length 0 or missing, freq_base a string or infinite, an odd dimension_count, head_count 0) ends
 * in one GgufError naming the key.
 */
function checkGgufRopeKeys(file: string, meta: GGUFTypedMetadata, arch: string): void {
  const p = `${arch}.`;
  const fail = (problem: string): never => {
    throw new GgufError(file, "malformed", problem);
  };
  const check = (key: string, kind: RopeNumberKind, value: unknown) => {
    const problem = ropeNumberProblem(kind, value);
    if (problem !== undefined) fail(`${key} ${problem}`);
  };
  if (meta[`${p}context_length`] === undefined) fail(`no ${p}context_length: cannot tell the model's context (llama.cpp cannot load it either)`);
  for (const [name, kind, opts] of NUMERIC_KEYS) {
    const key = p + name;
    const e = meta[key];
    if (e === undefined) continue;
    const v: unknown = e.value;
    if (!isNumeric(v)) fail(`${key} must be a number, got ${describeValue(v)}`);
    if (opts?.zeroMeansAbsent && Number(v) === 0) continue;
    check(key, kind, v);
  }
  const heads = meta[`${p}attention.head_count`];
  if (heads !== undefined) {
    const key = `${p}attention.head_count`;
    // Hybrid models list a count per layer, 0 for layers without attention.
    const list: unknown[] = Array.isArray(heads.value) ? heads.value : [heads.value];
    if (list.length === 0 || !list.every(isNumeric)) fail(`${key} must be a number or a list of numbers, got ${describeValue(heads.value)}`);
    if (Array.isArray(heads.value)) {
      for (const h of list) if (Number(h) !== 0) check(key, "heads", h);
      if (list.every((h) => Number(h) === 0)) fail(`${key} is 0 for every layer`);
    } else check(key, "heads", heads.value);
  }
  const type = meta[`${p}rope.scaling.type`];
  if (type !== undefined && typeof type.value !== "string") fail(`${p}rope.scaling.type must be a string, got ${describeValue(type.value)}`);
}

/**
 * yarnify's RopeSpec from a GGUF's metadata and frequency tensors (see rawGgufRopeSpec); every number it uses is
 * checked first (a GgufError naming `opts.file`).
 *
 * @example
 * const spec = ggufRopeSpec(header.metadata, header.architecture, { file: header.file });
 * const p = plan(spec, { factor: 4 });
 */
export function ggufRopeSpec(meta: GGUFTypedMetadata, arch: string, opts: GgufSpecOptions = {}): RopeSpec {
  const file = opts.file ?? "GGUF";
  checkGgufRopeKeys(file, meta, arch);
  const spec = rawGgufRopeSpec(meta, arch, opts.tensors);
  const p = `${arch}.`;
  const headDimKey = meta[`${p}attention.key_length`] !== undefined
    ? `${p}attention.key_length`
    : meta[`${p}embedding_length`] !== undefined && meta[`${p}attention.head_count`] !== undefined
      ? `${p}embedding_length / ${p}attention.head_count`
      : `${p}rope.dimension_count (no ${p}attention.key_length or ${p}embedding_length)`;
  try {
    checkRopeSpec(undefined, spec, {
      theta: `${p}rope.freq_base`,
      headDim: headDimKey,
      rotaryDim: meta[`${p}rope.dimension_count`] !== undefined ? `${p}rope.dimension_count` : `the rotary dimension (${headDimKey})`,
      context: `${p}context_length`,
      originalContext: `${p}rope.scaling.original_context_length`,
      scaling: `${p}rope.scaling`,
    });
  } catch (err) {
    if (err instanceof YarnifyError) throw new GgufError(file, "malformed", err.problem);
    throw err;
  }
  return spec;
}

/**
 * yarnify's RopeSpec from a GGUF's metadata and its frequency tensors: a `rope_freqs.weight` under no scaling keys
 * that equals convert_hf_to_gguf.py's llama3 factors reads as llama3 (Llama 3.x), `rope_factors_long/short.weight`
 * as LongRoPE (Phi-3); other divisors are not part of the spec (ggufFreqTensorRole says so).
 */
function rawGgufRopeSpec(meta: GGUFTypedMetadata, arch: string, tensors: RopeTensors = {}): RopeSpec {
  const p = `${arch}.`;
  const embedding = ggufNumber(meta, `${p}embedding_length`);
  const heads = ggufNumber(meta, `${p}attention.head_count`);
  const perHead = embedding !== undefined && heads ? Math.floor(embedding / heads) : undefined;
  const headDim = ggufNumber(meta, `${p}attention.key_length`) ?? perHead ?? ggufNumber(meta, `${p}rope.dimension_count`) ?? 0;
  // llama.cpp: n_rot = rope.dimension_count, else n_embd_head_k (key_length, else embedding / heads).
  const rotaryDim = ggufNumber(meta, `${p}rope.dimension_count`) ?? headDim;
  const context = ggufNumber(meta, `${p}context_length`) ?? 0;
  const theta = ggufNumber(meta, `${p}rope.freq_base`) ?? 10000;
  const type = str(meta, `${p}rope.scaling.type`);
  const factor = ggufNumber(meta, `${p}rope.scaling.factor`) ?? ggufNumber(meta, `${p}rope.scale_linear`);
  const method = scalingMethod(type, factor);
  let scaling: RopeScaling = { method };
  const orig = ggufNumber(meta, `${p}rope.scaling.original_context_length`);
  // llama.cpp falls back to context_length when the original length is absent.
  let originalContext: number | undefined = method !== "none" && orig !== undefined && orig > 0 ? orig : context;
  if (method !== "none") {
    if (factor !== undefined) scaling.factor = factor;
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
  } else {
    const fromTensors = scalingFromTensors(meta, arch, tensors, { rotaryDim, theta, context });
    if (fromTensors) {
      scaling = fromTensors;
      originalContext = fromTensors.originalContext;
    }
  }
  return { theta, headDim, rotaryDim, context, originalContext, scaling };
}

/** The scaling a GGUF's frequency tensors hold when no scaling key says otherwise, or undefined. */
function scalingFromTensors(meta: GGUFTypedMetadata, arch: string, t: RopeTensors, dims: { rotaryDim: number; theta: number; context: number }): RopeScaling | undefined {
  if (!isNeutral(t.freqs)) {
    const llama3 = llama3FromFactors(t.freqs!, dims.rotaryDim, dims.theta);
    return llama3 && { method: "llama3", ...llama3 };
  }
  if (t.long && t.short && !(isNeutral(t.long) && isNeutral(t.short))) {
    // convert_hf_to_gguf.py (Phi3MiniModel) writes original_context_length and attn_factor = sqrt(1 + ln(s)/ln(L)).
    const orig = ggufNumber(meta, `${arch}.rope.scaling.original_context_length`) || dims.context;
    const scaling: RopeScaling = { method: "longrope", factor: dims.context / orig, originalContext: orig, shortFactor: t.short, longFactor: t.long };
    const attn = ggufNumber(meta, `${arch}.rope.scaling.attn_factor`);
    if (attn !== undefined) scaling.attentionFactor = attn;
    return scaling;
  }
  return undefined;
}

/**
 * What the frequency tensors are to a patch: "none" (absent or all ones), "scaling" (the spec's scaling, or a scaling
 * the keys combine them with: a re-plan replaces both, so they are rewritten to ones) or "unknown" (divisors under no
 * scaling key that are not llama3's: llama.cpp would apply them under any new scaling, so a patch is refused).
 *
 * @example
 * ggufFreqTensorRole(header.metadata, "llama", ropeTensorValues(tensors)); // Llama 3.1: "scaling"
 */
export function ggufFreqTensorRole(meta: GGUFTypedMetadata, arch: string, tensors: RopeTensors): "none" | "scaling" | "unknown" {
  if (isNeutral(tensors.freqs) && isNeutral(tensors.long) && isNeutral(tensors.short)) return "none";
  return rawGgufRopeSpec(meta, arch).scaling.method !== "none" || rawGgufRopeSpec(meta, arch, tensors).scaling.method !== "none" ? "scaling" : "unknown";
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
    nRot: ggufNumber(meta, `${p}rope.dimension_count`) ?? ggufNumber(meta, `${p}attention.key_length`) ?? (embedding !== undefined && heads ? Math.floor(embedding / heads) : 0),
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
 * The GGUF rope keys (and frequency tensors) in the shape the engine profiles read (src/core/rope/engines/stored.ts).
 *
 * @example
 * const keys = ggufStoredKeys(header.metadata, "qwen2"); // as llamacppFromGguf reads them
 */
export function ggufStoredKeys(meta: GGUFTypedMetadata, arch: string, tensors: RopeTensors = {}): GgufRopeKeys {
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
  put("freqFactors", tensors.freqs ?? tensors.short);
  return keys;
}

/**
 * StoredRope for a GGUF: the llama.cpp keys, plus the transformers-style dict the same scaling
 * would be in a config.json, so every engine profile can judge the file.
 *
 * @example
 * const engines = compareEngines(engineViews(ggufStoredRope(header.metadata, header.architecture)));
 */
export function ggufStoredRope(meta: GGUFTypedMetadata, arch: string, opts: GgufSpecOptions = {}): StoredRope {
  const stored = storedFromSpec(ggufRopeSpec(meta, arch, opts), { architecture: arch, gguf: ggufStoredKeys(meta, arch, opts.tensors) });
  // M-RoPE (qwen2vl, qwen3vl): `rope.dimension_sections` holds the pairs per position stream (t, h, w, extra), the
  // GGUF form of mrope_section; llama.cpp's qwen3vl archs interleave the streams (LLAMA_ROPE_TYPE_IMROPE).
  const sections = meta[`${arch}.rope.dimension_sections`]?.value;
  if (Array.isArray(sections) && stored.ropeParameters) {
    stored.ropeParameters["mrope_section"] = sections.slice(0, 3).map(Number);
    if (/^qwen3vl/.test(arch)) stored.ropeParameters["mrope_interleaved"] = true;
  }
  return stored;
}
