// Follows Hugging Face Jobs until each has finished. One listing per poll serves every job followed, so a batch of
// many shards costs the hub's API budget one request per poll, not one per job.
import { drain } from "../core/drain.ts";
import type { HubParams } from "./hub-params.ts";
import { type BatchJob, FINAL_STAGES, listBatchJobs } from "./list-batch-jobs.ts";
import { sleepWithSignal } from "./retry-fetch.ts";

export interface WaitForJobsParams extends HubParams {
  namespace: string;
  jobIds: readonly string[];
  /** Time between listings (default 15 s). */
  pollMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type WaitForJobsEvent = { event: "stage"; job: BatchJob };

/**
 * Yields each job's stage when it changes; returns the jobs (in `jobIds` order) once all are COMPLETED, ERROR,
 * CANCELED or DELETED. A job missing from the listing counts as DELETED.
 *
 * @example
 * const jobs = await waitForJobs({ namespace: "me", jobIds: ["6850..."], accessToken }, (e) => console.log(e.job.stage));
 */
export async function* waitForJobsIter(params: WaitForJobsParams): AsyncGenerator<WaitForJobsEvent, BatchJob[]> {
  const sleep = params.sleep ?? sleepWithSignal;
  const seen = new Map<string, string>();
  for (;;) {
    const listed = new Map((await listBatchJobs({ ...params })).map((j) => [j.id, j]));
    const jobs = params.jobIds.map((id): BatchJob => listed.get(id) ?? { id, stage: "DELETED", message: "no longer listed", labels: {}, createdAt: "" });
    for (const job of jobs) {
      if (seen.get(job.id) === job.stage) continue;
      seen.set(job.id, job.stage);
      yield { event: "stage", job };
    }
    if (jobs.every((j) => FINAL_STAGES.has(j.stage))) return jobs;
    await sleep(params.pollMs ?? 15_000, params.abortSignal);
  }
}

/**
 * Drains waitForJobsIter; onEvent sees each stage change.
 *
 * @example
 * const [job] = await waitForJobs({ namespace: "me", jobIds: [id], accessToken, pollMs: 30_000 });
 */
export function waitForJobs(params: WaitForJobsParams, onEvent?: (e: WaitForJobsEvent) => void): Promise<BatchJob[]> {
  return drain(waitForJobsIter(params), onEvent);
}
