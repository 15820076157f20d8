// The files of a repo revision, with every name checked before it can reach the local file system.
import { listFiles } from "@huggingface/hub";
import { type HubParams, hubJsParams } from "./hub-params.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";

export interface HubFileEntry {
  path: string;
  size: number;
  /** Stored through LFS/xet (weights), rather than as a git blob. */
  lfs: boolean;
}

/**
 * Every file of a repo revision (recursively), each path checked safe to use on the local file system.
 *
 * @example
 * const files = await listHubFiles({ repo: "org/name", revision: commit });
 * console.log(files.filter((f) => f.lfs).map((f) => f.path));
 */
export async function listHubFiles(params: HubParams & { repo: string; revision?: string }): Promise<HubFileEntry[]> {
  const out: HubFileEntry[] = [];
  for await (const entry of listFiles({
    repo: params.repo,
    recursive: true,
    revision: params.revision,
    ...hubJsParams(params),
  })) {
    if (entry.type !== "file") continue;
    assertSafeRepoPath(entry.path, params.repo);
    out.push({ path: entry.path, size: entry.size, lfs: entry.lfs !== undefined || entry.xetHash !== undefined });
  }
  return out;
}
