// How far each engine's reading is from transformers', the reference users compare against.
import type { EngineName, EngineView, ModelFormat } from "./types.ts";

/**
 * The engines that load each format directly. A GGUF is read by llama.cpp (and by transformers and vLLM, which
 * convert it); an ONNX graph bakes its frequencies in, so no config-reading engine applies to it.
 */
export const ENGINES_BY_FORMAT: Record<ModelFormat, readonly EngineName[]> = {
  hf: ["transformers", "llamacpp", "vllm", "ortGenai", "mlx"],
  gguf: ["transformers", "llamacpp", "vllm"],
  onnx: [],
};

export interface EngineReport extends EngineView {
  /** Largest relative difference of inv_freq from transformers'. */
  maxInvFreqRelDiff: number;
  /** attention factor minus transformers'. */
  attentionFactorDiff: number;
  /** Within float32 noise of transformers (inv_freq rel ≤ 1e-5, attention factor within 1e-5). */
  agrees: boolean;
}

export const INV_FREQ_REL_TOL = 1e-5;
export const ATTENTION_FACTOR_TOL = 1e-5;

/** Whether an engine's reading is usable: finite frequencies and attention factor. */
function computes(v: EngineView): boolean {
  return v.invFreq.length > 0 && v.invFreq.every(Number.isFinite) && Number.isFinite(v.attentionFactor);
}

/**
 * Each engine's reading against transformers': frequency and attention-factor differences and whether it agrees.
 *
 * @example
 * const reports = compareEngines(engineViews(info.stored));
 * console.log(reports.llamacpp.agrees, reports.ortGenai.maxInvFreqRelDiff);
 */
export function compareEngines(views: Record<EngineName, EngineView>): Record<EngineName, EngineReport> {
  const ref = views.transformers;
  const out = {} as Record<EngineName, EngineReport>;
  for (const [name, v] of Object.entries(views) as [EngineName, EngineView][]) {
    if (name === "transformers") {
      // The reference agrees with itself when it can compute at all (a config it fails to load, it does not).
      out[name] = { ...v, maxInvFreqRelDiff: 0, attentionFactorDiff: 0, agrees: computes(v) };
      continue;
    }
    let maxRel = v.invFreq.length === ref.invFreq.length ? 0 : Number.POSITIVE_INFINITY;
    for (let j = 0; j < Math.min(v.invFreq.length, ref.invFreq.length); j++) {
      maxRel = Math.max(maxRel, Math.abs(v.invFreq[j] - ref.invFreq[j]) / Math.abs(ref.invFreq[j]));
    }
    const afDiff = v.attentionFactor - ref.attentionFactor;
    const agrees = maxRel <= INV_FREQ_REL_TOL && Math.abs(afDiff) <= ATTENTION_FACTOR_TOL;
    out[name] = { ...v, maxInvFreqRelDiff: maxRel, attentionFactorDiff: afDiff, agrees };
  }
  return out;
}

/** One line per engine that would compute something else than transformers. */
export function disagreementLines(reports: Record<EngineName, EngineReport>, format: ModelFormat = "hf"): string[] {
  const lines: string[] = [];
  // transformers is the reference: it cannot differ from itself, but it can fail to compute anything.
  const ref = reports.transformers;
  if (ref && !computes(ref)) {
    const why = ref.warnings.length ? `: ${ref.warnings.join("; ")}` : "";
    lines.push(`transformers cannot compute finite frequencies from these parameters${why}`);
  }
  for (const [name, r] of Object.entries(reports) as [EngineName, EngineReport][]) {
    if (name === "transformers" || r.agrees || !ENGINES_BY_FORMAT[format].includes(name)) continue;
    if (r.invFreq.length === 0) {
      // The profile threw: its warning says why this engine cannot use the parameters.
      lines.push(r.warnings.length ? r.warnings.join("; ") : `${name} cannot use these parameters`);
      continue;
    }
    if (reports.transformers.invFreq.length === 0) continue; // nothing to compare with; transformers' line says why
    const parts: string[] = [];
    if (r.maxInvFreqRelDiff > INV_FREQ_REL_TOL) parts.push(`inv_freq off by up to ${(r.maxInvFreqRelDiff * 100).toPrecision(3)}%`);
    if (Math.abs(r.attentionFactorDiff) > ATTENTION_FACTOR_TOL) parts.push(`attention factor ${r.attentionFactor.toFixed(6)} vs ${(r.attentionFactor - r.attentionFactorDiff).toFixed(6)}`);
    const why = r.warnings.length ? ` (${r.warnings.join("; ")})` : "";
    lines.push(`${name} reads this differently from transformers: ${parts.join(", ")}${why}`);
  }
  return lines;
}
