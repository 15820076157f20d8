// llama.cpp / ggml (rope-engines.md §3): float32 throughout, correction range always floored/ceiled,
// angle blend with ext_factor, attention factor from yarn_log_multiplier only.
import { f32 } from "../float32.ts";
import { hfRopeType, scalingFromHfDict } from "../hf-params.ts";
import { DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW } from "../yarn.ts";
import type { EngineView } from "../../types.ts";
import { DEEPSEEK2_FAMILY, type GgufRopeKeys, isDeepseek, type StoredRope } from "./stored.ts";
import { transformersView } from "./transformers.ts";

const logf = (x: number) => f32(Math.log(f32(x)));

/**
 * What convert_hf_to_gguf.py writes for a config.json (§3.2), so a HF model can be judged as llama.cpp will see it.
 *
 * @example
 * const { keys, warnings } = ggufKeysFromHf(info.stored); // what a GGUF converted from this config.json will hold
 */
export function ggufKeysFromHf(s: StoredRope): { keys: GgufRopeKeys; warnings: string[] } {
  const warnings: string[] = [];
  const dict = s.ropeParameters ?? s.ropeScaling;
  const type = hfRopeType(dict);
  // convert_hf_to_gguf.py writes DeepSeek V2/V3 (and Kimi) models as arch "deepseek2".
  const keys: GgufRopeKeys = { architecture: isDeepseek(s.architecture) ? "deepseek2" : s.architecture ?? "llama", contextLength: s.maxPositionEmbeddings };
  const p = scalingFromHfDict(dict, type);
  if (type === "linear" && p.factor !== undefined) {
    keys.scalingType = "linear";
    keys.factor = p.factor;
  } else if (type === "yarn" && p.factor !== undefined) {
    keys.scalingType = "yarn";
    keys.factor = p.factor;
    if (p.originalContext === undefined) {
      warnings.push("convert_hf_to_gguf.py fails without original_max_position_embeddings (KeyError)");
    } else keys.originalContextLength = p.originalContext;
    if (p.betaFast !== undefined) keys.yarnBetaFast = p.betaFast;
    if (p.betaSlow !== undefined) keys.yarnBetaSlow = p.betaSlow;
    if (isDeepseek(s.architecture) && p.mscaleAllDim !== undefined) keys.yarnLogMultiplier = 0.1 * p.mscaleAllDim;
  }
  return { keys, warnings };
}

const isDeepseek2Arch = (arch: string) => DEEPSEEK2_FAMILY.has(arch);

/**
 * llama.cpp's per-pair angle rate (the angle at position 1) and cos/sin magnitude for the stored keys.
 *
 * @example
 * const view = llamacppFromGguf(ggufStoredKeys(header.metadata, "llama"), 128, 500000);
 */
export function llamacppFromGguf(k: GgufRopeKeys, rotaryDim: number, theta: number): EngineView {
  const warnings: string[] = [];
  const type = k.scalingType ?? "linear";
  if (!["none", "linear", "yarn", "longrope"].includes(type)) {
    throw new Error(`llama.cpp rejects rope.scaling.type "${type}"`);
  }
  const factor = type === "none" ? 1 : k.factor || 1;
  const freqScale = f32(1 / factor);
  const nCtxOrig = k.originalContextLength || k.contextLength;
  const yarn = type === "yarn";
  const grok = /^grok/.test(k.architecture);
  const betaFast = grok && k.yarnBetaFast !== undefined ? k.yarnBetaFast : DEFAULT_BETA_FAST;
  const betaSlow = grok && k.yarnBetaSlow !== undefined ? k.yarnBetaSlow : DEFAULT_BETA_SLOW;
  if (!grok && ((k.yarnBetaFast ?? 32) !== 32 || (k.yarnBetaSlow ?? 1) !== 1)) {
    warnings.push(`llama.cpp reads yarn_beta_fast/slow only for grok: uses 32/1 for ${k.architecture}`);
  }
  if (yarn && !k.originalContextLength) {
    warnings.push(`no rope.scaling.original_context_length: llama.cpp uses context_length (${k.contextLength}) as the original context`);
  }
  const corrDim = (rot: number) =>
    f32(f32(rotaryDim * logf(f32(nCtxOrig / f32(f32(rot * 2) * f32(Math.PI))))) / f32(2 * logf(theta)));
  const low = Math.max(0, Math.floor(corrDim(betaFast)));
  const high = Math.min(rotaryDim - 1, Math.ceil(corrDim(betaSlow)));
  const thetaScale = f32(Math.pow(f32(theta), f32(-2 / rotaryDim)));
  const invFreq: number[] = [];
  let thetaExtrap = 1;
  for (let j = 0; j < rotaryDim / 2; j++) {
    // ggml_rope_cache_init: rope_yarn(theta / freq_factors[j], ...), the YaRN ramp still indexed by the pair.
    const extrap = k.freqFactors ? f32(thetaExtrap / f32(k.freqFactors[j] ?? 1)) : thetaExtrap;
    const interp = f32(freqScale * extrap);
    let angle = interp;
    if (yarn) {
      const y = f32(f32(j - low) / Math.max(0.001, f32(high - low)));
      const mix = f32(1 - Math.min(1, Math.max(0, y)));
      angle = f32(f32(interp * f32(1 - mix)) + f32(extrap * mix));
    }
    invFreq.push(angle);
    thetaExtrap = f32(thetaExtrap * thetaScale);
  }
  let attentionFactor = 1;
  if (yarn) {
    const getMscale = (s: number, m: number) => (s <= 1 ? 1 : f32(f32(f32(0.1 * m) * logf(s)) + 1));
    const logMul = k.yarnLogMultiplier ?? 0;
    let ctxAttn: number;
    if (logMul !== 0) {
      const allDims = isDeepseek2Arch(k.architecture) ? f32(logMul / 0.1) : logMul;
      const mscale = isDeepseek2Arch(k.architecture) && allDims !== 1 ? allDims : 1;
      ctxAttn = f32(getMscale(factor, mscale) / getMscale(factor, allDims));
    } else ctxAttn = getMscale(factor, 1);
    ctxAttn = f32(ctxAttn * f32(1 / f32(1 + f32(0.1 * logf(factor)))));
    ctxAttn = f32(ctxAttn * (k.attnFactor ?? 1));
    attentionFactor = f32(ctxAttn * f32(1 + f32(0.1 * logf(f32(1 / freqScale)))));
  } else if (k.attnFactor !== undefined) attentionFactor = k.attnFactor;
  return { invFreq, attentionFactor, warnings };
}

/**
 * llama.cpp's reading of stored parameters: a GGUF's own keys, or those convert_hf_to_gguf.py would write for a config.json.
 *
 * @example
 * console.log(llamacppView(info.stored).invFreq[0]);
 */
export function llamacppView(s: StoredRope): EngineView {
  const hfType = hfRopeType(s.ropeParameters ?? s.ropeScaling);
  if (!s.gguf && (hfType === "llama3" || hfType === "longrope" || hfType === "su")) {
    // convert_hf_to_gguf.py bakes these into per-pair rope_freqs factors, which reproduce transformers' table.
    return transformersView(s);
  }
  const fromHf = s.gguf ? { keys: s.gguf, warnings: [] } : ggufKeysFromHf(s);
  const view = llamacppFromGguf(fromHf.keys, s.rotaryDim, s.theta);
  const warnings = [...fromHf.warnings, ...view.warnings];
  if (!s.gguf) {
    const p = scalingFromHfDict(s.ropeParameters ?? s.ropeScaling);
    if (p.method === "yarn" && p.truncate === false && !s.perLayerType) warnings.push("llama.cpp always floors/ceils the correction range (truncate: false ignored)");
    if (p.attentionFactor !== undefined) warnings.push("llama.cpp ignores an explicit attention_factor");
    if (p.method === "yarn" && (p.mscale !== undefined || p.mscaleAllDim !== undefined) && !isDeepseek(s.architecture)) {
      const hf = transformersView(s).attentionFactor;
      if (Math.abs(hf - view.attentionFactor) > 1e-6) warnings.push("llama.cpp does not read mscale/mscale_all_dim for this architecture");
    }
  } else if (s.gguf.scalingType === "yarn" && s.gguf.factor && s.gguf.originalContextLength &&
    s.gguf.contextLength < s.gguf.originalContextLength * s.gguf.factor) {
    warnings.push(`context_length ${s.gguf.contextLength} is below original × factor: llama-server caps the context at it`);
  }
  if (s.gguf?.scalingType && s.gguf.scalingType !== "none" && s.gguf.freqFactors?.some((f) => f !== 1)) {
    warnings.push(`llama.cpp divides every pair's frequency by the GGUF's frequency tensor (rope_freqs / rope_factors) on top of its ${s.gguf.scalingType} scaling`);
  }
  return { ...view, warnings };
}
