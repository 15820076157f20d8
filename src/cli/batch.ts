// `yarnify batch <manifest>`: many models (hub sources and local paths) from a JSON or YAML manifest; resumable
// (state file) and shardable.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { indexedJobShard, perIndexPath } from "../batch/indexed-job.ts";
import { createBatchRunner } from "../batch/item-runner.ts";
import { ManifestError, parseManifest, parseShard } from "../batch/manifest.ts";
import { batchExitCode, runBatch } from "../batch/run-batch.ts";
import type { GgufHeaderPatcher } from "../hub/patch-hub-gguf.ts";
import { VERSION } from "../version.ts";
import { type HfJobsOptions, runHfJobsCommand } from "./batch-hf-jobs.ts";
import { batchLimits, RATE_LIMIT_OPTIONS, type RateLimitOptionValues } from "./batch-limits.ts";
import { printBatchMatrix } from "./batch-matrix.ts";
import type { Command } from "./command.ts";
import { hubConnection } from "./hub.ts";
import { type CliIo, print, printJson } from "./io.ts";
import { HUB_OPTIONS, type HubOptionValues, wholeNumber } from "./options.ts";

export interface BatchOptions extends HubOptionValues, HfJobsOptions, RateLimitOptionValues {
  concurrency?: unknown;
  /** "i/n", 1-based. */
  shard?: string;
  /** Default: <manifest>.state.jsonl */
  state?: string;
  /** Default: <manifest>.reports */
  reports?: string;
  json?: boolean;
  /** "github": print the CI job matrix for the [shards] argument instead of running. */
  matrix?: string;
}

function readManifest(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ManifestError(path, `cannot read the manifest: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Runs a manifest; `patchGgufHeader` replaces the GGUF converter's header patcher (tests use a stand-in). */
export async function runBatchCommand(manifestPath: string, o: BatchOptions, io: CliIo, patchGgufHeader?: GgufHeaderPatcher): Promise<number> {
  const concurrency = wholeNumber(o.concurrency, "--concurrency") ?? 2;
  const manifest = parseManifest(readManifest(manifestPath), manifestPath);
  // In a Kubernetes Indexed Job (and without --shard) the pod runs its share, with a state and reports of its own.
  const pod = o.shard === undefined ? indexedJobShard(io.env ?? process.env) : undefined;
  const shard = o.shard !== undefined ? parseShard(o.shard) : pod?.shard;
  const own = (path: string, kind: "file" | "folder") => (pod ? perIndexPath(path, pod.index, kind) : path);
  const runItem = createBatchRunner({ ...hubConnection(o, io, batchLimits(o, io)), baseDir: dirname(manifestPath), ...(patchGgufHeader && { patchGgufHeader }), toolVersion: VERSION });
  const summary = await runBatch({
    items: manifest.items,
    runItem,
    concurrency,
    statePath: own(o.state ?? `${manifestPath}.state.jsonl`, "file"),
    reportDir: own(o.reports ?? `${manifestPath}.reports`, "folder"),
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
  usage: "batch <manifest> [shards]",
  description: "Patch many models from a JSON or YAML manifest; resumable and shardable",
  options: [
    { flags: "--concurrency <n>", description: "Items at once", default: 2 },
    { flags: "--shard <i/n>", description: "Run only shard i of n (1-based), split deterministically; in a Kubernetes Indexed Job, JOB_COMPLETION_INDEX and JOB_COMPLETION_COUNT give it" },
    { flags: "--state <file>", description: "State file for resuming (default: <manifest>.state.jsonl; in an Indexed Job -<index> is added: state-0.jsonl)" },
    { flags: "--reports <dir>", description: "Per-item JSON reports (default: <manifest>.reports; in an Indexed Job reports-<index>)" },
    ...HUB_OPTIONS,
    ...RATE_LIMIT_OPTIONS,
    { flags: "--json", description: "Print the summary as JSON" },
    { flags: "--hf-jobs <n>", description: "Run the manifest as n Hugging Face Jobs (one per shard), follow them and gather their reports" },
    { flags: "--flavor <flavor>", description: "--hf-jobs: the jobs' hardware (default cpu-basic)" },
    { flags: "--namespace <ns>", description: "--hf-jobs: the user or org the jobs run under (default: the token's user)" },
    { flags: "--image <image>", description: "--hf-jobs: a Docker image with Node >= 20 (default node:22)" },
    { flags: "--install <spec>", description: "--hf-jobs: what the jobs install with npx (default yarnify@<this version>)" },
    { flags: "--job-timeout <seconds>", description: "--hf-jobs: each job's time limit" },
    { flags: "--poll-seconds <s>", description: "--hf-jobs: time between polls of the jobs (default 15)" },
    { flags: "--matrix <ci>", description: "Print the job matrix for [shards] shards instead of running (github: {\"include\":[{\"shard\":\"1/N\"},...]})" },
  ],
  examples: ["yarnify batch patches.yaml --concurrency 4", "yarnify batch patches.yaml --matrix github 8", "yarnify batch patches.yaml --hf-jobs 8 --flavor cpu-upgrade"],
  run: (manifest, o, io, more = []) => {
    if (o.matrix !== undefined) return printBatchMatrix(manifest, o.matrix, more, io);
    if (more.length > 0) throw new ManifestError(more[0], "unexpected argument (the number of shards goes with --matrix)");
    if (o.hfJobs !== undefined) {
      if (o.shard !== undefined) throw new ManifestError("--hf-jobs", "runs every shard, each in a job of its own; it cannot go with --shard");
      return runHfJobsCommand(manifest, o, io);
    }
    return runBatchCommand(manifest, o, io);
  },
};
