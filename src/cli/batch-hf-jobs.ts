// `yarnify batch <manifest> --hf-jobs N`: the manifest's shards as Hugging Face Jobs (src/hub/hf-jobs-batch.ts),
// followed to the end; each item's report is written where a local run writes it.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isLocalItem } from "../batch/local-runner.ts";
import { ManifestError, parseManifest } from "../batch/manifest.ts";
import { reportFileName } from "../batch/manifest.ts";
import { writeJsonAtomic } from "../batch/run-batch.ts";
import { runHfJobsBatch } from "../hub/hf-jobs-batch.ts";
import { HUB_RATE_LIMITS } from "../hub/hub-rate-limiter.ts";
import { batchLimits, type RateLimitOptionValues } from "./batch-limits.ts";
import { hubConnection } from "./hub.ts";
import { type CliIo, print, printJson } from "./io.ts";
import { type HubOptionValues, numberOption, wholeNumber } from "./options.ts";

export interface HfJobsOptions extends HubOptionValues, RateLimitOptionValues {
  hfJobs?: unknown;
  flavor?: string;
  namespace?: string;
  image?: string;
  install?: string;
  jobTimeout?: unknown;
  pollSeconds?: unknown;
  concurrency?: unknown;
  reports?: string;
  json?: boolean;
}

function positiveSeconds(v: unknown, option: string): number | undefined {
  const n = numberOption(v);
  if (n === undefined) return undefined;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) throw new ManifestError(option, `"${String(v)}" is not a positive number of seconds`);
  return n;
}

/**
 * Runs the manifest on `--hf-jobs N` Hugging Face Jobs and returns the exit code (0 when every item is done).
 *
 * @example
 * await runHfJobsCommand("patches.yaml", { hfJobs: 8, flavor: "cpu-basic" }, io);
 */
export async function runHfJobsCommand(manifestPath: string, o: HfJobsOptions, io: CliIo): Promise<number> {
  const shards = wholeNumber(o.hfJobs, "--hf-jobs")!;
  const { items } = parseManifest(readFileSync(manifestPath, "utf8"), manifestPath);
  const local = items.findIndex((it) => isLocalItem(it, dirname(manifestPath)));
  if (local >= 0) throw new ManifestError(`${manifestPath} item ${local + 1}`, `${items[local].source} is a local path: a Hugging Face Job sees only the hub`);
  const timeout = positiveSeconds(o.jobTimeout, "--job-timeout");
  const poll = positiveSeconds(o.pollSeconds, "--poll-seconds");
  // The jobs share the token: each job, and this machine following them, gets an equal share of its API budget.
  const share = Math.max(1, Math.floor((wholeNumber(o.apiLimit, "--api-limit") ?? HUB_RATE_LIMITS.api.limit) / (shards + 1)));
  const limits = batchLimits({ ...o, apiLimit: share }, io);
  const result = await runHfJobsBatch(
    {
      ...hubConnection(o, io, limits),
      // The submission is never retried underneath (submitBatchJob looks for the job first), but it is limited.
      submitFetch: limits.limiter.wrap(globalThis.fetch),
      jobApiLimit: share,
      items,
      shards,
      concurrency: wholeNumber(o.concurrency, "--concurrency") ?? 2,
      ...(o.namespace !== undefined && { namespace: o.namespace }),
      ...(o.flavor !== undefined && { flavor: o.flavor }),
      ...(o.image !== undefined && { image: o.image }),
      ...(o.install !== undefined && { install: o.install }),
      ...(timeout !== undefined && { timeoutSeconds: Math.ceil(timeout) }),
      ...(poll !== undefined && { pollMs: poll * 1000 }),
    },
    o.json
      ? undefined
      : (e) => {
          if (e.event === "submitted") io.stderr(`submitted ${e.shard}: job ${e.jobId}${e.retryOf ? ` (again, after job ${e.retryOf})` : ""}\n`);
          if (e.event === "found") io.stderr(`found ${e.shard}: job ${e.jobId} (${e.stage})\n`);
          if (e.event === "stage") io.stderr(`${e.shard}: ${e.stage}${e.message ? ` (${e.message})` : ""}\n`);
        },
  );
  const reportDir = o.reports ?? `${manifestPath}.reports`;
  mkdirSync(reportDir, { recursive: true });
  for (const [i, r] of result.reports.entries()) writeJsonAtomic(join(reportDir, reportFileName(r.id)), { ...r, item: items[i] });
  const summary = { namespace: result.namespace, batch: result.batch, total: result.total, done: result.done, failed: result.failed, shards: result.shards };
  writeJsonAtomic(join(reportDir, "summary.json"), { ...summary, reports: result.reports.map((r) => ({ id: r.id, status: r.status, error: r.error })) });
  if (o.json) printJson(io, { ...summary, reports: result.reports });
  else {
    for (const s of result.shards) print(io, `${s.shard} ${s.stage} ${s.jobUrl}`);
    print(io, `${result.total} items on ${result.shards.length} Hugging Face Jobs (${result.namespace}): ${result.done} done, ${result.failed} failed`);
  }
  return result.failed === 0 ? 0 : 1;
}
