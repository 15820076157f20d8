// The library API: `import { inspect, plan, patch } from "yarnify"`.

export { inspect, ropeSummary } from "./inspect.ts";
export type { InspectParams, InspectResult, RopeSummary } from "./inspect.ts";
export { plan } from "./core/plan.ts";
export { patch } from "./patch.ts";
export type { PatchParams, PatchResult } from "./patch.ts";
export { runtimeFlags } from "./flags.ts";
export { flags } from "./model-flags.ts";
export type { FlagsParams } from "./model-flags.ts";
export type { EngineFlags, RuntimeFlags } from "./flags.ts";
export { compareEngines } from "./core/engine-compare.ts";
export type { EngineReport } from "./core/engine-compare.ts";
export type { Converter, ModelInfo, OutputFile, PatchOutput, RemoteAccess, RemoteFile } from "./core/converter.ts";
export { converterFor, converters } from "./models.ts";
export type { ConverterOptions, ReadOptions } from "./models.ts";
export type { ExpectedRope } from "./core/converter.ts";
export { EXIT_CODES, GpuError, ModelFormatError, OutputError, PlanError, YarnifyError } from "./core/errors.ts";
export type { ErrorKind } from "./core/errors.ts";
export { drain } from "./core/drain.ts";
export * from "./core/types.ts";
export * as rope from "./core/rope/index.ts";
export * as hub from "./hub/index.ts";
export * as batch from "./batch/index.ts";
export { validate, validateIter } from "./validate/index.ts";
export { recipe, TRAINERS, YARN_FINE_TUNE } from "./recipe/index.ts";
export type { FineTune, Recipe, RecipeParams, TrainerName } from "./recipe/index.ts";
export type { AdapterInfo, Check, CheckStatus, Report, ValidateEvent, ValidateParams } from "./validate/index.ts";
