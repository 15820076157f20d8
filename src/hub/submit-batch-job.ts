// Submits one shard's job at most once. A job submission is not idempotent: when its answer is lost (a dropped
// connection, a 5xx after the hub created the job) a blind retry would start a second job on the same shard. So
// the submission carries a label naming it, and every attempt first looks for a job with that label.
import { HubApiError, runJob } from "@huggingface/hub";
import { HubError } from "./errors.ts";
import type { HubParams } from "./hub-params.ts";
import { type BatchJob, jobsApiError, jobsApiParams, listBatchJobs, toBatchJob } from "./list-batch-jobs.ts";
import { describeError } from "./redact.ts";
import { sleepWithSignal } from "./retry-fetch.ts";
import { JOB_LABELS, type JobSpec } from "./shard-job-spec.ts";

export interface SubmitBatchJobParams extends HubParams {
  namespace: string;
  /** The job; its labels must carry the batch key and a submission label unique to this submission. */
  spec: JobSpec;
  /**
   * The fetch the submission itself goes through: one attempt, never retried underneath (the default is the
   * runtime's fetch). `fetch` serves the label look-ups, which are safe to retry.
   */
  submitFetch?: typeof fetch;
  /** Attempts after the first (default 4). */
  retries?: number;
  baseDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface SubmittedJob {
  job: BatchJob;
  /** The job was there already: submitted by an earlier attempt whose answer was lost, or by an earlier run. */
  found: boolean;
}

/** A submission may have created the job when the hub failed or the answer never came; 4xx ones did not. */
function mayRetry(err: unknown): boolean {
  return !(err instanceof HubApiError) || err.statusCode === 429 || err.statusCode >= 500;
}

/**
 * Submits the job unless a job with its submission label exists; retries a failed submission only after looking
 * for the job again, so a lost answer never starts a second job.
 *
 * @example
 * const { job, found } = await submitBatchJob({ namespace: "me", accessToken, spec: shardJobSpec({ ... }) });
 */
export async function submitBatchJob(params: SubmitBatchJobParams): Promise<SubmittedJob> {
  const labels = params.spec.labels ?? {};
  const batch = labels[JOB_LABELS.batch];
  const submission = labels[JOB_LABELS.submission];
  if (batch === undefined || submission === undefined) throw new HubError(params.namespace, `a batch job needs the ${JOB_LABELS.batch} and ${JOB_LABELS.submission} labels`);
  const retries = params.retries ?? 4;
  const sleep = params.sleep ?? sleepWithSignal;
  const what = `job ${labels[JOB_LABELS.shard] ?? submission} of batch ${batch} in ${params.namespace}`;
  for (let attempt = 0; ; attempt++) {
    const existing = (await listBatchJobs({ ...params, batch })).filter((j) => j.labels[JOB_LABELS.submission] === submission && j.labels[JOB_LABELS.shard] === labels[JOB_LABELS.shard]);
    if (existing.length > 0) return { job: existing[existing.length - 1], found: true };
    try {
      const job = toBatchJob(await runJob({ ...jobsApiParams(params, what), fetch: params.submitFetch ?? globalThis.fetch, namespace: params.namespace, ...params.spec }));
      return { job, found: false };
    } catch (err) {
      if (params.abortSignal?.aborted) throw err;
      if (!mayRetry(err)) throw jobsApiError(err, what);
      if (attempt >= retries) throw new HubError(what, `not submitted after ${attempt + 1} attempts: ${describeError(err)}`, { cause: err });
      await sleep(Math.min(30_000, (params.baseDelayMs ?? 1000) * 2 ** attempt), params.abortSignal);
    }
  }
}
