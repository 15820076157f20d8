// `yarnify validate`: is this patched model right, and will it behave at the new length?
import { drain } from "../core/drain.ts";
import { converterFor, type ReadOptions } from "../models.ts";
import { computeRope } from "../core/rope/compute.ts";
import type { Plan } from "../core/types.ts";
import { findGpu, type Gpu, NoGpuError } from "../../kernels/index.ts";
import { bandsCheck } from "./bands-check.ts";
import { enginesCheck } from "./engines-check.ts";
import { type Check, makeReport, type Report } from "./report.ts";
import { kernelCheck, kernelProblem } from "./kernel-check.ts";
import { weightsCheck } from "./weights-check.ts";
import { checkpointProbe } from "./probe-weights.ts";
import { isUrl } from "../../converters/gguf/source.ts";
import { basename, dirname } from "node:path";
import { defaultInvFreq } from "../core/rope/default.ts";
import { trainedContext } from "../core/rope/trained-context.ts";
import type { ModelInfo } from "../core/converter.ts";
import type { RopeFrequencies, RopeSpec } from "../core/rope/types.ts";

/** The real-weights probe for the models the evaluator opens (HF safetensors, local GGUF; every supported family). */
async function realWeights(info: ModelInfo, spec: RopeSpec, declared: RopeFrequencies, originalContext: number, skip: string | undefined): Promise<Check> {
  if (skip !== undefined) return { name: "real-weights", status: "skipped", detail: skip };
  if (info.format === "onnx") {
    return { name: "real-weights", status: "skipped", detail: "reading ONNX weights is not implemented; safetensors and GGUF checkpoints are probed" };
  }
  if (info.format === "gguf" && isUrl(info.path)) {
    return { name: "real-weights", status: "skipped", detail: "a remote GGUF's weights are not downloaded for the probe: validate a local copy" };
  }
  if (spec.context <= originalContext) {
    return { name: "real-weights", status: "skipped", detail: "the model declares no extension to compare with its trained length" };
  }
  // The HF converter accepts config.json itself; the checkpoint is its directory.
  const model = await checkpointProbe(info.format === "hf" && basename(info.path) === "config.json" ? dirname(info.path) : info.path);
  try {
    return await weightsCheck({
      model,
      headDim: spec.headDim,
      rotaryDim: spec.rotaryDim,
      original: { invFreq: defaultInvFreq(spec.rotaryDim, spec.theta), attentionFactor: 1, context: originalContext },
      patched: { invFreq: declared.invFreq, attentionFactor: declared.attentionFactor, context: spec.context },
    });
  } finally {
    await model.close();
  }
}

export type { AdapterInfo, Check, CheckStatus, Report } from "./report.ts";

export interface ValidateParams extends ReadOptions {
  model: string;
  /** The plan the model was patched with; without it the file's own declaration is the reference. */
  plan?: Plan;
  /** A GPU to use (tests share one); found on demand otherwise. null: none, check on the CPU reference only. */
  gpu?: Gpu | NoGpuError | null;
  /** Stops between checks. */
  abortSignal?: AbortSignal;
  /** Why the real-weights probe cannot run (e.g. a hub repo read from its config files alone): it is reported skipped. */
  skipWeights?: string;
}

/** A check finished (validateIter yields one per check, in order). */
export interface ValidateEvent {
  event: "check";
  check: Check;
}

/**
 * Checks a (patched) model: engine readings, frequency bands, the format's own read-back, the real weights'
 * attention at the new length and the WebGPU kernel against a float64 reference.
 *
 * @example
 * const report = await validate({ model: "./qwen-128k" });
 * if (!report.ok) console.log(report.checks.filter((c) => c.status === "fail"));
 */
export function validate(params: ValidateParams, onEvent?: (e: ValidateEvent) => void): Promise<Report> {
  return drain(validateIter(params), onEvent);
}

/**
 * validate() as an async generator: yields each check as it completes, returns the report.
 *
 * @example
 * const it = validateIter({ model: "./qwen-128k" });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.check.name, r.value.check.status);
 */
export async function* validateIter(params: ValidateParams): AsyncGenerator<ValidateEvent, Report> {
  const signal = params.abortSignal;
  const converter = await converterFor(params.model, params);
  const info = await converter.read(params.model, params.remote);
  const spec = info.spec;
  const declared = computeRope(spec);
  const expected = params.plan ?? { invFreq: declared.invFreq, attentionFactor: declared.attentionFactor };
  const checks: Check[] = [];
  const done = (check: Check): ValidateEvent => {
    signal?.throwIfAborted();
    checks.push(check);
    return { event: "check", check };
  };
  yield done(
    info.format === "onnx"
      ? { name: "engines", status: "skipped", detail: "an ONNX graph bakes its frequencies in; the onnx-graph check reads them back" }
      : enginesCheck(info.stored, info.format, expected),
  );
  const originalContext = params.originalContext ?? trainedContext(spec);
  yield done(
    spec.context > originalContext
      ? bandsCheck({ spec, invFreq: declared.invFreq, originalContext, context: spec.context })
      : { name: "frequency-bands", status: "skipped", detail: `the model declares no extension (context ${spec.context} = original)` },
  );
  if (converter.check) yield done(converter.check(info, { invFreq: expected.invFreq, attentionFactor: expected.attentionFactor, context: spec.context }));
  yield done(await realWeights(info, spec, declared, originalContext, params.skipWeights));
  const gpu = params.gpu === undefined ? await findGpu() : params.gpu;
  try {
    const usable = gpu instanceof NoGpuError ? null : gpu;
    yield done(await kernelCheck(usable, kernelProblem(spec, declared, spec.context), gpu instanceof NoGpuError ? gpu.message : undefined));
    return makeReport(params.model, usable?.summary ?? null, checks);
  } finally {
    if (params.gpu === undefined && !(gpu instanceof NoGpuError)) gpu?.release();
  }
}
