// The browser-safe library, published as `yarnify/browser`: the planner, the inspect report, config.json and GGUF
// header patching from a File, bytes or a URL (Range requests) with the output streamed, the engines' reading and the
// WebGPU kernel check. No `node:` module anywhere below it (test/layering.test.ts).

export { checkKernel, modelUrl, openModel, patchModel, publishModel, publishModelIter } from "./web-model.ts";
export { sha256Hex } from "./core/sha256.ts";
export type { ModelInput, OpenedModel, OpenModelParams, PatchedModel, PublishModelParams } from "./web-model.ts";
export type { PublishEvent, PublishResult } from "./hub/publish.ts";
export { plan } from "./core/plan.ts";
export { engineReports, formatFit, inspectReport, ropeSummary } from "./inspect-report.ts";
export type { InspectResult, RopeSummary } from "./inspect-report.ts";
export { ENGINES_BY_FORMAT } from "./core/engine-compare.ts";
export type { EngineReport } from "./core/engine-compare.ts";
export type { Check, CheckStatus, ModelInfo } from "./core/converter.ts";
export { computeRope } from "./core/rope/compute.ts";
export { correctionRange, frequencyBands } from "./core/rope/yarn.ts";
export { EXIT_CODES, GpuError, ModelFormatError, OutputError, PlanError, YarnifyError } from "./core/errors.ts";
export * from "./core/types.ts";
