// `yarnify batch <manifest> --hf-jobs N`: the manifest's shards as Hugging Face Jobs, each a container that installs
// yarnify and runs `batch --shard i/N`; then follows them to the end and gathers each item's report from their logs.
// Jobs carry labels (the batch's key, the shard, the submission), so a rerun finds the jobs of an earlier run:
// running or finished ones are followed again, and a failed shard is submitted again with the items its failed job
// finished marked done, so only the rest runs.
import { createHash } from "node:crypto";
import { whoAmI } from "@huggingface/hub";
import type { BatchItem, Shard } from "../batch/manifest.ts";
import { drain } from "../core/drain.ts";
import { shardItems } from "../batch/manifest.ts";
import { VERSION } from "../version.ts";
import { DEFAULT_HUB_URL, type HubParams } from "./hub-params.ts";
import { type BatchJob, jobsApiError, jobsApiParams, listBatchJobs } from "./list-batch-jobs.ts";
import { type JobItemReport, readJobSummary, type ShardSummary } from "./read-job-summary.ts";
import { JOB_LABELS, shardJobSpec, shardLabel } from "./shard-job-spec.ts";
import { submitBatchJob } from "./submit-batch-job.ts";
import { waitForJobsIter } from "./wait-for-jobs.ts";

export interface HfJobsBatchParams extends HubParams {
  items: readonly BatchItem[];
  /** Number of shards, one job each (shards with no items get none). */
  shards: number;
  /** Where the jobs run (and are billed): the token's user by default. */
  namespace?: string;
  /** Hardware (default "cpu-basic": patching reads configs and headers, it needs no GPU). */
  flavor?: string;
  /** Docker image with Node ≥ 20 (default "node:22"). */
  image?: string;
  /** What the container installs with npx (default this version: "yarnify@<version>"). */
  install?: string;
  /** Items at once inside each job (default 2). */
  concurrency?: number;
  timeoutSeconds?: number;
  /** Time between polls of the jobs (default 15 s). */
  pollMs?: number;
  /** Each job's share of the token's hub API budget per 5 minutes (the jobs share one token): its `--api-limit`. */
  jobApiLimit?: number;
  /** The fetch job submissions go through, one attempt each (see submitBatchJob). */
  submitFetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type HfJobsBatchEvent =
  | { event: "submitted"; shard: string; jobId: string; retryOf: string | null }
  | { event: "found"; shard: string; jobId: string; stage: string }
  | { event: "stage"; shard: string; jobId: string; stage: string; message: string | null };

export interface HfJobsShard {
  /** "2/4". */
  shard: string;
  jobId: string;
  jobUrl: string;
  stage: string;
  message: string | null;
  items: number;
  /** Earlier jobs of this shard (failed ones a rerun replaced). */
  earlierJobs: string[];
}

/** An item's report, and the job that made it. */
export interface HfJobsItemReport extends JobItemReport {
  /** The job's page on the hub (null when no job reported on the item). */
  job: string | null;
}

export interface HfJobsBatchResult {
  namespace: string;
  /** The batch's key (label yarnify-batch): the same manifest and shard count give the same key. */
  batch: string;
  shards: HfJobsShard[];
  /** Every item of the manifest, in manifest order. */
  reports: HfJobsItemReport[];
  total: number;
  done: number;
  failed: number;
}

/** Stages of a job that will not finish its shard. */
const FAILED_STAGES: ReadonlySet<string> = new Set(["ERROR", "CANCELED", "DELETED"]);

/** The batch key: the items (with their ids) and the shard count decide every job's work. */
function batchKey(items: readonly BatchItem[], shards: number): string {
  return createHash("sha256").update(JSON.stringify({ items, shards })).digest("hex").slice(0, 12);
}

/**
 * Reports of one shard over its jobs, oldest first: a later job's report replaces an earlier one, except that
 * "skipped" (the item was done, passed on as state) keeps the earlier "done".
 */
function mergeReports(jobs: ReadonlyArray<{ job: string; summary: ShardSummary | undefined }>): Map<string, HfJobsItemReport> {
  const merged = new Map<string, HfJobsItemReport>();
  for (const { job, summary } of jobs) for (const r of summary?.reports ?? []) if (r.status !== "skipped" || !merged.has(r.id)) merged.set(r.id, { ...r, job });
  return merged;
}

/**
 * Submits (or finds) one job per non-empty shard, follows them, and returns every item's report.
 *
 * @example
 * const result = await runHfJobsBatch({ items: parseManifest(text).items, shards: 8, accessToken: process.env.HF_TOKEN });
 * console.log(result.done, "of", result.total, result.shards.map((s) => s.jobUrl));
 */
export async function* runHfJobsBatchIter(params: HfJobsBatchParams): AsyncGenerator<HfJobsBatchEvent, HfJobsBatchResult> {
  const { items, shards: count, flavor = "cpu-basic", image = "node:22", install = `yarnify@${VERSION}`, concurrency = 2, timeoutSeconds, pollMs, submitFetch, sleep, jobApiLimit } = params;
  const hub: HubParams = { hubUrl: params.hubUrl, accessToken: params.accessToken, fetch: params.fetch, abortSignal: params.abortSignal };
  const hubUrl = params.hubUrl ?? DEFAULT_HUB_URL;
  const auth = jobsApiParams(hub, "--hf-jobs");
  let namespace = params.namespace;
  if (namespace === undefined) {
    try {
      namespace = (await whoAmI(auth)).name;
    } catch (err) {
      throw jobsApiError(err, "the token's user");
    }
  }
  const batch = batchKey(items, count);
  const existing = await listBatchJobs({ ...hub, namespace, batch });
  const jobUrl = (jobId: string) => `${hubUrl}/jobs/${namespace}/${jobId}`;
  const summaries = new Map<string, ShardSummary | undefined>();
  // Each job's logs are read once, when its shard's reports are needed.
  const reportsOf = async (jobs: readonly BatchJob[]) =>
    mergeReports(await Promise.all(jobs.map(async (j) => {
      if (!summaries.has(j.id)) summaries.set(j.id, await readJobSummary({ ...hub, namespace: namespace!, jobId: j.id }));
      return { job: jobUrl(j.id), summary: summaries.get(j.id) };
    })));

  const followed: Array<{ shard: Shard; jobs: BatchJob[] }> = [];
  for (let index = 1; index <= count; index++) {
    const shard: Shard = { index, count };
    if (shardItems(items, shard).length === 0) continue;
    const label = shardLabel(shard);
    const jobs = existing.filter((j) => j.labels[JOB_LABELS.shard] === label);
    const newest = jobs[jobs.length - 1];
    if (newest && !FAILED_STAGES.has(newest.stage)) {
      yield { event: "found", shard: `${index}/${count}`, jobId: newest.id, stage: newest.stage };
      followed.push({ shard, jobs });
      continue;
    }
    // A failed shard runs again; what its failed jobs finished is passed on as done.
    const earlier = await reportsOf(jobs);
    const doneIds = [...earlier.values()].filter((r) => r.status === "done" || r.status === "skipped").map((r) => r.id);
    const spec = shardJobSpec({
      items, shard, concurrency, install, image, flavor, hubUrl, accessToken: auth.accessToken, doneIds,
      ...(jobApiLimit !== undefined && { apiLimit: jobApiLimit }),
      labels: { [JOB_LABELS.batch]: batch, [JOB_LABELS.shard]: label, [JOB_LABELS.submission]: newest ? `retry-${newest.id}` : "first" },
      ...(timeoutSeconds !== undefined && { timeoutSeconds }),
    });
    const submitted = await submitBatchJob({ ...hub, namespace, spec, ...(submitFetch && { submitFetch }), ...(sleep && { sleep }) });
    yield submitted.found
      ? { event: "found", shard: `${index}/${count}`, jobId: submitted.job.id, stage: submitted.job.stage }
      : { event: "submitted", shard: `${index}/${count}`, jobId: submitted.job.id, retryOf: newest?.id ?? null };
    followed.push({ shard, jobs: [...jobs, submitted.job] });
  }

  const shardOf = new Map(followed.map((f) => [f.jobs[f.jobs.length - 1].id, `${f.shard.index}/${count}`]));
  const waiting = waitForJobsIter({ ...hub, namespace, jobIds: [...shardOf.keys()], ...(pollMs !== undefined && { pollMs }), ...(sleep && { sleep }) });
  let finals: BatchJob[];
  for (;;) {
    const step = await waiting.next();
    if (step.done) {
      finals = step.value;
      break;
    }
    const j = step.value.job;
    yield { event: "stage", shard: shardOf.get(j.id)!, jobId: j.id, stage: j.stage, message: j.message };
  }

  const reports = new Map<string, HfJobsItemReport>();
  const shards: HfJobsShard[] = [];
  for (const [i, f] of followed.entries()) {
    const last = finals[i];
    const merged = await reportsOf(f.jobs);
    const mine = shardItems(items, f.shard);
    for (const it of mine) {
      const why = `no report: job ${last.id} ended ${last.stage}${last.message ? ` (${last.message})` : ""} before printing its summary`;
      reports.set(it.id, merged.get(it.id) ?? { id: it.id, status: "failed", error: why, result: null, job: jobUrl(last.id) });
    }
    shards.push({
      shard: `${f.shard.index}/${count}`,
      jobId: last.id,
      jobUrl: jobUrl(last.id),
      stage: last.stage,
      message: last.message,
      items: mine.length,
      earlierJobs: f.jobs.slice(0, -1).map((j) => j.id),
    });
  }
  const all = items.map((it) => reports.get(it.id)!);
  return {
    namespace,
    batch,
    shards,
    reports: all,
    total: all.length,
    done: all.filter((r) => r.status === "done" || r.status === "skipped").length,
    failed: all.filter((r) => r.status !== "done" && r.status !== "skipped").length,
  };
}

/**
 * Drains runHfJobsBatchIter; onEvent sees each submission and stage change.
 *
 * @example
 * const r = await runHfJobsBatch({ items, shards: 4, accessToken }, (e) => console.error(e.event, e.shard));
 */
export function runHfJobsBatch(params: HfJobsBatchParams, onEvent?: (e: HfJobsBatchEvent) => void): Promise<HfJobsBatchResult> {
  return drain(runHfJobsBatchIter(params), onEvent);
}
