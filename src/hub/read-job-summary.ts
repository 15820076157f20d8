// The batch summary a shard job printed: its logs, read back through the jobs API, hold `yarnify batch --json`'s
// output after the marker line (shard-job-spec.ts); everything before it (npx's install, retries) is ignored.
import { streamJobLogs } from "@huggingface/hub";
import type { BatchSummary, JsonValue } from "../batch/run-batch.ts";
import type { HubParams } from "./hub-params.ts";
import { jobsApiError, jobsApiParams } from "./list-batch-jobs.ts";
import { SUMMARY_MARKER } from "./shard-job-spec.ts";

/** One item as a shard job reported it. */
export interface JobItemReport {
  id: string;
  status: "done" | "failed" | "skipped" | "interrupted";
  error: string | null;
  result: JsonValue;
}

/** What `yarnify batch --json` prints: the batch's summary, each report as the item's id, status, error and result. */
export type ShardSummary = Omit<BatchSummary, "reports"> & { reports: JobItemReport[] };

function isShardSummary(v: unknown): v is ShardSummary {
  const s = v as ShardSummary;
  return typeof s === "object" && s !== null && typeof s.total === "number" && Array.isArray(s.reports) && s.reports.every((r) => typeof r?.id === "string" && typeof r.status === "string");
}

/**
 * The summary in a finished job's logs, or undefined when the job printed none (it failed before running the
 * batch: an image without Node, a failed install, a timeout).
 *
 * @example
 * const summary = await readJobSummary({ namespace: "me", jobId, accessToken });
 * for (const r of summary?.reports ?? []) console.log(r.id, r.status);
 */
export async function readJobSummary(params: HubParams & { namespace: string; jobId: string }): Promise<ShardSummary | undefined> {
  const lines: string[] = [];
  try {
    for await (const entry of streamJobLogs({ ...jobsApiParams(params, `job ${params.jobId}`), namespace: params.namespace, jobId: params.jobId })) lines.push(...entry.message.split("\n"));
  } catch (err) {
    throw jobsApiError(err, `logs of job ${params.jobId} in ${params.namespace}`);
  }
  const at = lines.map((l) => l.trim()).lastIndexOf(SUMMARY_MARKER);
  if (at < 0) return undefined;
  try {
    const summary: unknown = JSON.parse(lines.slice(at + 1).join("\n"));
    return isShardSummary(summary) ? summary : undefined;
  } catch {
    return undefined;
  }
}
