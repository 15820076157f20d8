// Kubernetes Indexed Jobs: each pod of a Job with `completionMode: Indexed` gets JOB_COMPLETION_INDEX (0-based,
// set by the Job controller); with JOB_COMPLETION_COUNT (the Job's `completions`, set in the manifest: Kubernetes
// does not expose it) a pod runs the share that `--shard (index+1)/count` names, and keeps a state file and a
// report folder of its own, so pods never write the same file and a restarted pod resumes its own share.
import { extname } from "node:path";
import type { Env } from "../hub/hub-params.ts";
import { ManifestError, type Shard } from "./manifest.ts";

export interface IndexedJobShard {
  shard: Shard;
  /** JOB_COMPLETION_INDEX as given (0-based): the suffix of the pod's state file and report folder. */
  index: number;
}

function wholeNumber(env: Env, name: string): number {
  const text = env[name]!;
  if (!/^\d+$/.test(text.trim())) throw new ManifestError(name, `"${text}" is not a whole number`);
  return Number(text);
}

/**
 * The shard of this pod, or undefined outside an Indexed Job. An index without a count is refused: every pod
 * would otherwise run the whole manifest.
 *
 * @example
 * indexedJobShard({ JOB_COMPLETION_INDEX: "1", JOB_COMPLETION_COUNT: "3" }); // { shard: { index: 2, count: 3 }, index: 1 }
 */
export function indexedJobShard(env: Env): IndexedJobShard | undefined {
  const hasIndex = env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== "";
  const hasCount = env.JOB_COMPLETION_COUNT !== undefined && env.JOB_COMPLETION_COUNT !== "";
  if (!hasIndex && !hasCount) return undefined;
  if (!hasCount) throw new ManifestError("JOB_COMPLETION_INDEX", "is set but JOB_COMPLETION_COUNT is not: set it to the Job's completions (or pass --shard i/n)");
  if (!hasIndex) throw new ManifestError("JOB_COMPLETION_COUNT", "is set but JOB_COMPLETION_INDEX is not: run in an Indexed Job (completionMode: Indexed) or pass --shard i/n");
  const index = wholeNumber(env, "JOB_COMPLETION_INDEX");
  const count = wholeNumber(env, "JOB_COMPLETION_COUNT");
  if (count < 1 || index >= count) throw new ManifestError("JOB_COMPLETION_INDEX", `${index} is not below JOB_COMPLETION_COUNT ${count}`);
  return { shard: { index: index + 1, count }, index };
}

/**
 * A path of one pod: "-<index>" before a file's extension, after a folder's name.
 *
 * @example
 * perIndexPath("/data/m.yaml.state.jsonl", 2, "file"); // "/data/m.yaml.state-2.jsonl"
 * perIndexPath("/data/m.yaml.reports", 2, "folder");   // "/data/m.yaml.reports-2"
 */
export function perIndexPath(path: string, index: number, kind: "file" | "folder"): string {
  const ext = kind === "file" ? extname(path) : "";
  return `${path.slice(0, path.length - ext.length)}-${index}${ext}`;
}
