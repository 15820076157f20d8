// `yarnify inspect`: a model's RoPE setup, and what every engine computes from it.
import { converterFor, type ReadOptions } from "./models.ts";
import type { WeightsSize } from "./core/fit.ts";
import { modelFit } from "./model-fit.ts";
import { inspectReport, type InspectResult } from "./inspect-report.ts";

export { engineReports, formatFit, inspectReport, ropeSummary } from "./inspect-report.ts";
export type { InspectResult, RopeSummary } from "./inspect-report.ts";

export interface InspectParams extends ReadOptions {
  /** A model directory or file (GGUF also an http(s) URL, reached with `remote`'s headers and fetch). */
  model: string;
  /** The weights' size when known from elsewhere (a hub listing), instead of what the files say. */
  weights?: WeightsSize;
}

/**
 * A model's RoPE setup and what every engine computes from it (the `inspect --json` object).
 *
 * @example
 * const r = await inspect({ model: "./Qwen2.5-7B-Instruct" });
 * console.log(r.rope.originalContext, r.engines.llamacpp.agrees);
 */
export async function inspect(params: InspectParams): Promise<InspectResult> {
  const { model, remote, weights, ...opts } = params;
  const info = await (await converterFor(model, opts)).read(model, remote);
  return inspectReport(info, modelFit(info, info.spec.context, weights));
}
