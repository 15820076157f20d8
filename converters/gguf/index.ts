// GGUF converter: inspect and patch llama.cpp models, local or remote.
export { describeGguf, inspectGguf } from "./inspect.ts";
export type { GgufInspection, InspectGgufOptions } from "./inspect.ts";
export { patchGguf, patchGgufIter } from "./patch.ts";
export type { PatchGgufParams, PatchGgufResult, PatchedFile } from "./patch.ts";
export type { PatchGgufEvent, PatchPhase } from "./events.ts";
export { GgufError } from "./errors.ts";
export type { GgufProblem } from "./errors.ts";
export { ggufKeysForPlan } from "./keys.ts";
export type { GgufEntry, GgufPlanKeys } from "./keys.ts";
export { ggufRopeSpec, ggufRopeKeys, llamaCppRopeParams, DEEPSEEK2_FAMILY } from "./spec.ts";
export type { GgufKeyValue, GgufTypeName, LlamaCppRopeParams } from "./spec.ts";
export { readGgufHeader } from "./read.ts";
export type { GgufHeader } from "./read.ts";
export { openSource, openLocalSource, openRemoteSource } from "./source.ts";
export type { ByteSource, FetchLike } from "./source.ts";
export { ggufConverter } from "./converter.ts";
export type { GgufPatchExtras } from "./converter.ts";
export { ggufStoredRope, ggufStoredKeys } from "./spec.ts";
