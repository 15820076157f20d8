// The batch layer's public API: manifests, shards, the resumable runner.
export { parseManifest, parseShard, shardItems, itemId, reportFileName, ManifestError } from "./manifest.ts";
export type { BatchItem, BatchManifest, Shard } from "./manifest.ts";
export { runBatch, batchExitCode } from "./run-batch.ts";
export type { BatchEvent, BatchSummary, ItemContext, ItemReport, JsonValue, RunBatchParams, RunItem } from "./run-batch.ts";
export { readState, openState, appendState, StateFileError } from "./state-file.ts";
export { createLocalBatchRunner, isLocalItem, itemPath } from "./local-runner.ts";
export type { LocalBatchRunnerParams } from "./local-runner.ts";
export { createBatchRunner } from "./item-runner.ts";
export type { BatchRunnerParams } from "./item-runner.ts";
export type { StateEntry } from "./state-file.ts";
