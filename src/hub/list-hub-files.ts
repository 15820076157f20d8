// The files of a repo revision, with every name checked before it can reach the local file system; offline
// (HF_HUB_OFFLINE), the files the cache holds for that commit.
import { listFiles } from "@huggingface/hub";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isYarnifyTemp } from "../core/io/temp-paths.ts";
import { snapshotDir } from "./cache-dir.ts";
import { HubOfflineError, hubApiError } from "./errors.ts";
import { type HubParams, hubJsParams } from "./hub-params.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";

export interface HubFileEntry {
  path: string;
  size: number;
  /** Stored through LFS/xet (weights), rather than as a git blob. */
  lfs: boolean;
  /** Its blob's name in the Hugging Face cache: the LFS sha256, else the git blob sha1 (unknown offline). */
  etag?: string;
}

/** The files under a snapshot folder (links followed: the cache's files are links to their blobs; a run's temporaries left out). */
function snapshotFiles(dir: string, prefix = ""): HubFileEntry[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (isYarnifyTemp(e.name)) return [];
    const path = prefix + e.name;
    const st = statSync(join(dir, e.name));
    return st.isDirectory() ? snapshotFiles(join(dir, e.name), `${path}/`) : [{ path, size: st.size, lfs: false }];
  });
}

/**
 * Every file of a repo revision (recursively), each path checked safe to use on the local file system. Offline,
 * `revision` must be a commit, and the listing is what the cache's snapshot of it holds.
 *
 * @example
 * const files = await listHubFiles({ repo: "org/name", revision: commit });
 * console.log(files.filter((f) => f.lfs).map((f) => f.path));
 */
export async function listHubFiles(params: HubParams & { repo: string; revision?: string; cacheDir?: string }): Promise<HubFileEntry[]> {
  if (params.offline) {
    try {
      if (params.cacheDir === undefined || params.revision === undefined) throw new Error("no cache or commit to look in");
      return snapshotFiles(snapshotDir(params.cacheDir, params.repo, params.revision));
    } catch {
      throw new HubOfflineError(`${params.repo}@${params.revision ?? "main"}`, "HF_HUB_OFFLINE is set and the cache holds no files of this commit");
    }
  }
  const out: HubFileEntry[] = [];
  try {
    for await (const entry of listFiles({
      repo: params.repo,
      recursive: true,
      revision: params.revision,
      ...hubJsParams(params),
    })) {
      if (entry.type !== "file") continue;
      assertSafeRepoPath(entry.path, params.repo);
      out.push({ path: entry.path, size: entry.size, lfs: entry.lfs !== undefined || entry.xetHash !== undefined, etag: entry.lfs?.oid ?? entry.oid });
    }
  } catch (err) {
    throw hubApiError(err, `${params.repo}@${params.revision ?? "main"}`);
  }
  return out;
}
