// `yarnify patch`: plan from the model's RoPE setup, rewrite it through its converter, report.
import type { OutputFile, PatchExtras, PatchProgressEvent } from "./core/converter.ts";
import type { EngineReport } from "./core/engine-compare.ts";
import { engineReports } from "./inspect.ts";
import type { MropeReport } from "./core/rope/engines/mrope.ts";
import { type FitReport, type SlidingReport, slidingReport } from "./core/fit.ts";
import { modelFit } from "./model-fit.ts";
import { type ConverterOptions, converterFor } from "./models.ts";
import { plan as makePlan } from "./core/plan.ts";
import type { EngineName, ModelFormat, Plan, PlanTarget } from "./core/types.ts";

export interface PatchParams extends PlanTarget, ConverterOptions, Omit<PatchExtras, "onProgress"> {
  /** Model directory or file. */
  model: string;
  /** Output path; defaults to `<model>-yarn-<context>` (beside the source). */
  out?: string;
  /** Compute and diff, write nothing. */
  dryRun?: boolean;
}

export interface PatchResult {
  format: ModelFormat;
  source: string;
  out: string;
  dryRun: boolean;
  plan: Plan;
  files: OutputFile[];
  diff: string;
  /** How each engine will read the patched model. */
  engines: Record<EngineName, EngineReport>;
  /** M-RoPE models: which engines apply the new scaling on the multimodal rotary embedding. */
  mrope?: MropeReport;
  /** Models with sliding-window layers: whether the new scaling reaches them (their own plain RoPE, or the model's). */
  sliding?: SlidingReport;
  /** Weights and each engine's default KV cache at the new context (HF and GGUF). */
  fit?: FitReport;
  warnings: string[];
}

/**
 * Plans the extension from the model's RoPE setup, writes the patched model (atomically, the source untouched)
 * and reports what each engine will compute from it. `onEvent` sees the progress of long writes (GGUF data).
 *
 * @example
 * const r = await patch({ model: "./Qwen2.5-7B-Instruct", factor: 4, out: "./qwen-128k" });
 * console.log(r.plan.context, r.files.map((f) => f.path));
 */
export async function patch(params: PatchParams, onEvent?: (e: PatchProgressEvent) => void): Promise<PatchResult> {
  const { model, out, dryRun = false, tensor, timeoutMs, verify, overwrite, abortSignal, ...target } = params;
  const converter = await converterFor(model, { tensor, originalContext: target.originalContext, timeoutMs });
  const info = await converter.read(model);
  const thePlan = makePlan(info.spec, target, { file: model, family: info.stored.architecture });
  const outPath = out ?? converter.defaultOut(model, thePlan);
  const output = await converter.patch({ info, plan: thePlan, out: outPath, dryRun, verify, overwrite, onProgress: onEvent, abortSignal });
  const { engines, warnings: engineWarnings, mrope } = engineReports(output.stored, info.format);
  const sliding = slidingReport(output.layout ?? info.layout, thePlan.method, thePlan.theta);
  const fit = modelFit(info, thePlan.context);
  return {
    format: info.format,
    source: model,
    out: output.out,
    dryRun,
    plan: thePlan,
    files: output.files,
    diff: output.diff,
    engines,
    ...(mrope && { mrope }),
    ...(sliding && { sliding }),
    ...(fit && { fit }),
    warnings: [...info.warnings, ...thePlan.warnings, ...output.warnings, ...engineWarnings],
  };
}
