// The `inspect --json` object from a model already read: its RoPE summary, every engine's reading, the fit. No I/O,
// so the CLI (src/inspect.ts) and the browser page build the same object from the same functions.
import type { ModelInfo } from "./core/converter.ts";
import { compareEngines, disagreementLines, type EngineReport, ENGINES_BY_FORMAT } from "./core/engine-compare.ts";
import { engineViews } from "./core/rope/engines/index.ts";
import { type MropeReport, mropeReport } from "./core/rope/engines/mrope.ts";
import { computeRope } from "./core/rope/compute.ts";
import { trainedContextQuirk } from "./core/rope/family-quirks.ts";
import type { StoredRope } from "./core/rope/engines/stored.ts";
import { trainedContext } from "./core/rope/trained-context.ts";
import type { RopeSpec } from "./core/rope/types.ts";
import { DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, getMscale } from "./core/rope/yarn.ts";
import type { EngineName, ModelFormat, RopeMethod } from "./core/types.ts";
import { type FitReport, fitReport, type SlidingReport, slidingReport, type WeightsSize } from "./core/fit.ts";

/** The `inspect --json` contract scripts rely on. */
export interface RopeSummary {
  method: RopeMethod;
  theta: number;
  headDim: number;
  rotaryDim: number;
  originalContext: number;
  context: number;
  factor: number;
  betaFast: number | null;
  betaSlow: number | null;
  truncate: boolean | null;
  mscale: number | null;
  mscaleAllDim: number | null;
  attentionFactor: number;
  /**
   * DeepSeek-style models (mscale_all_dim set) also multiply the softmax scale by get_mscale(s, mscale_all_dim)²
   * inside attention, outside RoPE; null otherwise.
   */
  softmaxScaleFactor: number | null;
  invFreq: number[];
}

export interface InspectResult {
  format: ModelFormat;
  path: string;
  architecture: string;
  rope: RopeSummary;
  engines: Record<EngineName, EngineReport>;
  /** M-RoPE models (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): the sections, and which engines apply the scaling on them. */
  mrope?: MropeReport;
  /** Models with sliding-window layers: how those layers rotate (their own plain RoPE, or the model's). */
  sliding?: SlidingReport;
  /** Weights and each engine's default KV cache at the declared context (HF and GGUF). */
  fit?: FitReport;
  /** Format-specific facts (ONNX: where the rotary embedding was found; GGUF: its rope keys). */
  details?: Record<string, unknown>;
  warnings: string[];
}

/**
 * The `rope` object of the inspect --json contract for a spec: method, theta, dims, contexts, betas, attention factor and inv_freq.
 *
 * @example
 * const s = ropeSummary(info.spec);
 * console.log(s.method, s.originalContext, s.attentionFactor);
 */
export function ropeSummary(spec: RopeSpec): RopeSummary {
  const s = spec.scaling;
  const yarnLike = s.method === "yarn" || s.method === "dynamic-yarn";
  const freqs = computeRope(spec);
  return {
    method: s.method,
    theta: spec.theta,
    headDim: spec.headDim,
    rotaryDim: spec.rotaryDim,
    originalContext: trainedContext(spec),
    context: spec.context,
    factor: s.factor ?? 1,
    betaFast: yarnLike ? s.betaFast || DEFAULT_BETA_FAST : null,
    betaSlow: yarnLike ? s.betaSlow || DEFAULT_BETA_SLOW : null,
    truncate: yarnLike ? s.truncate ?? true : null,
    mscale: s.mscale ?? null,
    mscaleAllDim: s.mscaleAllDim ?? null,
    attentionFactor: freqs.attentionFactor,
    softmaxScaleFactor: yarnLike && s.mscaleAllDim ? getMscale(s.factor ?? 1, s.mscaleAllDim) ** 2 : null,
    invFreq: freqs.invFreq,
  };
}

/**
 * Engine readings of stored parameters, with the lines worth warning about (and the M-RoPE reading, if any).
 *
 * @example
 * const { engines, warnings } = engineReports(info.stored, "gguf");
 * console.log(engines.llamacpp.agrees, warnings);
 */
export function engineReports(stored: StoredRope, format: ModelFormat): { engines: Record<EngineName, EngineReport>; warnings: string[]; mrope?: MropeReport } {
  const engines = compareEngines(engineViews(stored));
  const mrope = mropeReport(stored, ENGINES_BY_FORMAT[format]);
  return { engines, warnings: disagreementLines(engines, format), ...(mrope && { mrope }) };
}

/**
 * The `inspect --json` object of a model already read, with its fit report (modelFit, or formatFit where no files
 * are at hand).
 *
 * @example
 * const r = inspectReport(info, formatFit(info, info.spec.context));
 * console.log(r.rope.originalContext, r.engines.llamacpp.agrees);
 */
export function inspectReport(info: ModelInfo, fit: FitReport | undefined): InspectResult {
  const { engines, warnings, mrope } = engineReports(info.stored, info.format);
  const quirk = info.spec.scaling.method === "none" ? trainedContextQuirk(info.stored.architecture, info.spec.context) : undefined;
  if (quirk) {
    warnings.unshift(`${quirk.quirk.summary} (${quirk.quirk.source}): patch plans from ${quirk.trained}; --original-context overrides`);
  }
  const rope = ropeSummary(info.spec);
  const sliding = slidingReport(info.layout, rope.method, rope.theta);
  return {
    format: info.format,
    path: info.path,
    architecture: info.architecture,
    rope,
    engines,
    ...(mrope && { mrope }),
    ...(sliding && { sliding }),
    ...(fit && { fit }),
    ...(info.details ? { details: info.details } : {}),
    warnings: [...info.warnings, ...warnings],
  };
}

/**
 * The fit report from what the model's header or config says (a GGUF's tensor infos; config.json's shapes alone),
 * or undefined for a format without layer shapes (ONNX); `note` joins its notes.
 *
 * @example
 * formatFit(info, 131072)?.kvCache[0].f16;
 */
export function formatFit(info: ModelInfo, context: number, weights?: WeightsSize | null, note?: string): FitReport | undefined {
  if (info.format === "onnx") return undefined;
  const report = fitReport(info.layout, context, weights ?? info.weights ?? null, ENGINES_BY_FORMAT[info.format]);
  if (note) report.notes.push(note);
  return report;
}
