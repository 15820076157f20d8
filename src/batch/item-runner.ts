// The item runner `yarnify batch` uses: each manifest item goes to the local runner (a path on this machine,
// patched through src/patch.ts) or to the hub runner (a hub source, patched and published remotely).
import { createHubBatchRunner, type HubBatchRunnerParams } from "../hub/batch-runner.ts";
import { createLocalBatchRunner, isLocalItem } from "./local-runner.ts";
import type { RunItem } from "./run-batch.ts";

export interface BatchRunnerParams extends HubBatchRunnerParams {
  /** Where relative local paths of the manifest are taken from (the manifest's folder). */
  baseDir?: string;
}

/**
 * One runner for a mixed manifest: local items (`source` a path, `out` a path) and hub items side by side.
 *
 * @example
 * const runItem = createBatchRunner({ baseDir: dirname(manifestPath), accessToken: process.env.HF_TOKEN });
 * const summary = await runBatch({ items, runItem, concurrency: 4 });
 */
export function createBatchRunner(params: BatchRunnerParams): RunItem {
  const { baseDir, cacheDir, patchGgufHeader, ...common } = params;
  const local = createLocalBatchRunner({ ...common, ...(baseDir !== undefined && { baseDir }) });
  const hub = createHubBatchRunner({ ...common, ...(cacheDir !== undefined && { cacheDir }), ...(patchGgufHeader && { patchGgufHeader }) });
  return (item, ctx) => (isLocalItem(item, baseDir) ? local(item, ctx) : hub(item, ctx));
}
