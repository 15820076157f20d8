// `yarnify batch <manifest>`: many hub models from a JSON or YAML manifest; resumable (state file) and shardable.
import { readFileSync } from "node:fs";
import { parseManifest, parseShard } from "../batch/manifest.ts";
import { batchExitCode, runBatch } from "../batch/run-batch.ts";
import { createHubBatchRunner } from "../hub/batch-runner.ts";
import type { GgufHeaderPatcher } from "../hub/patch-hub-gguf.ts";
import { VERSION } from "../version.ts";
import type { Command } from "./command.ts";
import { hubConnection } from "./hub.ts";
import { type CliIo, print, printJson } from "./io.ts";
import { HUB_OPTIONS, type HubOptionValues, wholeNumber } from "./options.ts";

export interface BatchOptions extends HubOptionValues {
  concurrency?: unknown;
  /** "i/n", 1-based. */
  shard?: string;
  /** Default: <manifest>.state.jsonl */
  state?: string;
  /** Default: <manifest>.reports */
  reports?: string;
  json?: boolean;
}

/** Runs a manifest; `patchGgufHeader` replaces the GGUF converter's header patcher (tests use a stand-in). */
export async function runBatchCommand(manifestPath: string, o: BatchOptions, io: CliIo, patchGgufHeader?: GgufHeaderPatcher): Promise<number> {
  const concurrency = wholeNumber(o.concurrency, "--concurrency") ?? 2;
  const manifest = parseManifest(readFileSync(manifestPath, "utf8"), manifestPath);
  const shard = o.shard !== undefined ? parseShard(o.shard) : undefined;
  const runItem = createHubBatchRunner({ ...hubConnection(o, io), ...(patchGgufHeader && { patchGgufHeader }), toolVersion: VERSION });
  const summary = await runBatch({
    items: manifest.items,
    runItem,
    concurrency,
    statePath: o.state ?? `${manifestPath}.state.jsonl`,
    reportDir: o.reports ?? `${manifestPath}.reports`,
    ...(shard && { shard }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
    onEvent: o.json
      ? undefined
      : (e) => {
          if (e.event === "skip") io.stderr(`skip ${e.id} (done earlier)\n`);
          if (e.event === "start") io.stderr(`start ${e.id}\n`);
          if (e.event === "end") io.stderr(`${e.report.status} ${e.report.id}${e.report.error ? `: ${e.report.error}` : ""}\n`);
        },
  });
  if (o.json) printJson(io, { ...summary, reports: summary.reports.map((r) => ({ id: r.id, status: r.status, error: r.error ?? null, result: r.result ?? null })) });
  else print(io, `${summary.total} items${summary.shard ? ` (shard ${summary.shard})` : ""}: ${summary.done} done, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.interrupted} interrupted`);
  return batchExitCode(summary);
}

export const batchCommand: Command<BatchOptions> = {
  usage: "batch <manifest>",
  description: "Patch many models from a JSON or YAML manifest; resumable and shardable",
  options: [
    { flags: "--concurrency <n>", description: "Items at once", default: 2 },
    { flags: "--shard <i/n>", description: "Run only shard i of n (1-based), split deterministically" },
    { flags: "--state <file>", description: "State file for resuming (default: <manifest>.state.jsonl)" },
    { flags: "--reports <dir>", description: "Per-item JSON reports (default: <manifest>.reports)" },
    ...HUB_OPTIONS,
    { flags: "--json", description: "Print the summary as JSON" },
  ],
  run: (manifest, o, io) => runBatchCommand(manifest, o, io),
};
