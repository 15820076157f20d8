// The Hugging Face Jobs of one batch: every job of the namespace carrying the batch's label, oldest first.
import { HubApiError, listJobs } from "@huggingface/hub";
import { HubError, HubHttpError } from "./errors.ts";
import { type HubParams, hubJsParams } from "./hub-params.ts";
import { describeError } from "./redact.ts";
import { JOB_LABELS } from "./shard-job-spec.ts";

/** A job as the batch follows it. The stage is the hub's (RUNNING, COMPLETED, ERROR, CANCELED, DELETED, ...). */
export interface BatchJob {
  id: string;
  stage: string;
  message: string | null;
  labels: Record<string, string>;
  createdAt: string;
}

/** Stages after which a job does nothing more. */
export const FINAL_STAGES: ReadonlySet<string> = new Set(["COMPLETED", "ERROR", "CANCELED", "DELETED"]);

type ApiJob = Awaited<ReturnType<typeof listJobs>>[number];

/**
 * The hub's job record as the batch follows it.
 *
 * @example
 * const job = toBatchJob(await runJob({ namespace: "me", accessToken, ...spec })); // { id, stage: "RUNNING", ... }
 */
export function toBatchJob(j: ApiJob): BatchJob {
  return { id: j.id, stage: String(j.status?.stage ?? "UNKNOWN"), message: j.status?.message ?? null, labels: j.labels ?? {}, createdAt: j.createdAt };
}

/**
 * A jobs API failure as a hub error (exit 6), its message redacted.
 *
 * @example
 * try { await getJob({ ...auth, namespace, jobId }); } catch (err) { throw jobsApiError(err, `job ${jobId}`); }
 */
export function jobsApiError(err: unknown, what: string): Error {
  if (err instanceof HubApiError) return new HubHttpError(what, `HTTP ${err.statusCode} ${describeError(err).replace(/^\w+: /, "")}`, err.statusCode);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The settings the jobs API calls take: a token is required (jobs are never anonymous).
 *
 * @example
 * await listJobs({ ...jobsApiParams(params, "jobs of me"), namespace: "me" });
 */
export function jobsApiParams(params: HubParams, what: string): { hubUrl?: string; fetch?: typeof fetch; accessToken: string } {
  if (!params.accessToken) throw new HubError(what, "the Jobs API needs a token (--token or HF_TOKEN)");
  return { ...hubJsParams(params), accessToken: params.accessToken };
}

/**
 * Jobs of `namespace` labelled with this batch key (all of them when `batch` is undefined), oldest first.
 *
 * @example
 * const jobs = await listBatchJobs({ namespace: "me", batch: "3f2a9c01d4e5", accessToken });
 */
export async function listBatchJobs(params: HubParams & { namespace: string; batch?: string }): Promise<BatchJob[]> {
  let jobs: ApiJob[];
  try {
    jobs = await listJobs({ ...jobsApiParams(params, `jobs of ${params.namespace}`), namespace: params.namespace });
  } catch (err) {
    throw jobsApiError(err, `jobs of ${params.namespace}`);
  }
  return jobs
    .map(toBatchJob)
    .filter((j) => params.batch === undefined || j.labels[JOB_LABELS.batch] === params.batch)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
