// What one Hugging Face Job of `yarnify batch --hf-jobs N` runs: a Node container that installs yarnify, writes the
// manifest (and the state of items an earlier attempt finished) from its environment, runs its shard and prints the
// batch summary after a marker line, where the submitting machine finds it in the job's logs.
import type { runJob } from "@huggingface/hub";
import type { BatchItem, Shard } from "../batch/manifest.ts";
import { DEFAULT_HUB_URL } from "./hub-params.ts";

/** The line after which a shard job's log holds the `yarnify batch --json` summary. */
export const SUMMARY_MARKER = "--- yarnify batch summary ---";

/** Labels that tie a job to its batch and shard, so a rerun (or a submit whose answer was lost) finds it. */
export const JOB_LABELS = { batch: "yarnify-batch", shard: "yarnify-shard", submission: "yarnify-submission" } as const;

/** The job options runJob takes (@huggingface/hub names the type CreateJobOptions but does not export it). */
export type JobSpec = Omit<Parameters<typeof runJob>[0], "namespace" | "hubUrl" | "fetch" | "accessToken" | "credentials">;

export interface ShardJobSpecParams {
  items: readonly BatchItem[];
  shard: Shard;
  /** Items at once inside the job. */
  concurrency: number;
  /** What npx installs: "yarnify@0.1.0", a tarball URL, a git URL. */
  install: string;
  /** A Docker image with Node ≥ 20 and npx. */
  image: string;
  flavor: string;
  /** The hub the job talks to (passed as HF_ENDPOINT when it is not huggingface.co). */
  hubUrl: string;
  /** Sent as the HF_TOKEN secret (encrypted by the hub, never in the job's environment or logs). */
  accessToken: string;
  labels: Record<string, string>;
  /** Items an earlier job of this shard finished: written to the state file, so they are skipped. */
  doneIds?: readonly string[];
  timeoutSeconds?: number;
  /** The job's share of the token's hub API budget (jobs share one token): its `--api-limit`. */
  apiLimit?: number;
}

/**
 * A shard as a label value (labels take no "/").
 *
 * @example
 * shardLabel({ index: 2, count: 4 }); // "2-of-4"
 */
export function shardLabel(shard: Shard): string {
  return `${shard.index}-of-${shard.count}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The runJob options of one shard's job.
 *
 * @example
 * const spec = shardJobSpec({ items, shard: { index: 1, count: 4 }, concurrency: 2, install: "yarnify@0.1.0", image: "node:22",
 *   flavor: "cpu-basic", hubUrl: "https://huggingface.co", accessToken: token, labels });
 * await runJob({ namespace: "me", accessToken: token, ...spec });
 */
export function shardJobSpec(p: ShardJobSpecParams): JobSpec {
  const state = (p.doneIds ?? []).map((id) => JSON.stringify({ id, status: "done", finishedAt: new Date(0).toISOString() })).join("\n");
  const script = [
    `cd "$(mktemp -d)"`,
    `printf '%s' "$YARNIFY_MANIFEST" > manifest.json`,
    `printf '%s\\n' "$YARNIFY_STATE" > manifest.json.state.jsonl`,
    `npx --yes ${shellQuote(p.install)} batch manifest.json --shard ${p.shard.index}/${p.shard.count} --concurrency ${p.concurrency}${p.apiLimit !== undefined ? ` --api-limit ${p.apiLimit}` : ""} --json > summary.json`,
  ].join(" && ") + `; code=$?; echo ${shellQuote(SUMMARY_MARKER)}; cat summary.json; exit $code`;
  return {
    dockerImage: p.image,
    command: ["sh", "-c", script],
    flavor: p.flavor as JobSpec["flavor"],
    environment: {
      // Explicit ids: the job computes the same shard split as this machine.
      YARNIFY_MANIFEST: JSON.stringify(p.items),
      YARNIFY_STATE: state,
      ...(p.hubUrl !== DEFAULT_HUB_URL && { HF_ENDPOINT: p.hubUrl }),
    },
    secrets: { HF_TOKEN: p.accessToken },
    labels: p.labels,
    ...(p.timeoutSeconds !== undefined && { timeoutSeconds: p.timeoutSeconds }),
  };
}
