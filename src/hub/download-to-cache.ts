// Downloads repo files into the Hugging Face cache as huggingface_hub lays it out (cache-dir.ts): each file's bytes
// once in blobs/<etag>, linked from snapshots/<commit>/<path>, the revision's commit in refs/<revision>. A file
// already there (fetched by `hf download`, transformers or an earlier run) is not downloaded again; offline
// (HF_HUB_OFFLINE) the cache is all there is. Writes go to a temporary sibling of the blob (and of the snapshot's
// link) renamed into place only when complete; an error or an abort (Ctrl-C) deletes it, so no partial file is ever
// left where a complete one is expected, and one a killed run left is removed by the next download of the same file.
// (@huggingface/hub's downloadFileToCacheDir writes the same layout, but writes no refs, cannot work offline,
// reports no progress and logs to the console, which would break `--json`.)
import { drain } from "../core/drain.ts";
import { existsSync, linkSync, mkdirSync, promises as fsp, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { repoCacheDir, snapshotDir } from "./cache-dir.ts";
import { HubDownloadError, HubOfflineError, throwForResponse } from "./errors.ts";
import type { HubParams } from "./hub-params.ts";
import { DEFAULT_HUB_URL } from "./hub-params.ts";
import type { HubFileEntry } from "./list-hub-files.ts";
import { localPathFor, assertSafeRepoPath } from "./safe-repo-path.ts";
import { removeStaleTemps, tempSibling, trackTemp, untrackTemp } from "../core/io/temp-paths.ts";

export interface DownloadProgressEvent {
  event: "download";
  path: string;
  bytes: number;
  total: number;
  fromCache: boolean;
}

export interface CachedFile {
  path: string;
  /** The file in the snapshot (a link to its blob). */
  localPath: string;
  size: number;
  commit: string;
  fromCache: boolean;
}

export interface DownloadToCacheParams extends HubParams {
  repo: string;
  revision?: string;
  /** Files to fetch, as repo paths. */
  paths: string[];
  /** The hub cache (defaultCacheDir(): $HF_HUB_CACHE, else $HF_HOME/hub). */
  cacheDir: string;
  /** Commit to read from when already known (skips the probe that resolves the revision). */
  commit?: string;
  /** The repo's listing at that commit (listHubFiles): its blob names spare a request per file. */
  listing?: readonly HubFileEntry[];
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

function resolveUrl(hubUrl: string, repo: string, revision: string, path: string): string {
  return `${hubUrl}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

function authHeaders(accessToken: string | undefined): Record<string, string> {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

/**
 * The commit a revision (branch, tag, refs/pr/N or commit) points to, from the model info API; with `cacheDir` it
 * is recorded in the cache's refs/<revision> (as huggingface_hub does), and offline it is read from there.
 *
 * @example
 * const commit = await resolveCommit({ repo: "Qwen/Qwen2.5-7B-Instruct", revision: "main", cacheDir: defaultCacheDir() });
 */
export async function resolveCommit(params: HubParams & { repo: string; revision?: string; cacheDir?: string }): Promise<string> {
  const revision = params.revision ?? "main";
  if (COMMIT_RE.test(revision)) return revision;
  const ref = params.cacheDir === undefined ? undefined : join(repoCacheDir(params.cacheDir, params.repo), "refs", ...revision.split("/"));
  if (params.offline) {
    const cached = ref !== undefined && existsSync(ref) ? readFileSync(ref, "utf8").trim() : undefined;
    if (cached !== undefined && COMMIT_RE.test(cached)) return cached;
    throw new HubOfflineError(`${params.repo}@${revision}`, `HF_HUB_OFFLINE is set and the cache${params.cacheDir ? ` (${params.cacheDir})` : ""} has no record of this revision`);
  }
  const res = await (params.fetch ?? fetch)(`${params.hubUrl ?? DEFAULT_HUB_URL}/api/models/${params.repo}/revision/${encodeURIComponent(revision)}`, {
    headers: authHeaders(params.accessToken),
    signal: params.abortSignal,
  });
  if (!res.ok) await throwForResponse(res, `${params.repo}@${revision}`);
  const info = (await res.json()) as { sha?: unknown };
  if (typeof info.sha !== "string" || !COMMIT_RE.test(info.sha)) throw new HubDownloadError(`${params.repo}@${revision}`, "hub did not say which commit it serves");
  if (ref !== undefined) {
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, info.sha);
  }
  return info.sha;
}

/** huggingface_hub's blob name for a file: X-Linked-Etag (LFS: the sha256) or ETag (the git blob sha1), unquoted. */
async function blobName(params: DownloadToCacheParams, commit: string, path: string): Promise<string> {
  const listed = params.listing?.find((f) => f.path === path)?.etag;
  if (listed) return listed;
  // The hub answers an LFS file with a redirect to its storage; the etag is on that first answer.
  const res = await (params.fetch ?? fetch)(resolveUrl(params.hubUrl ?? DEFAULT_HUB_URL, params.repo, commit, path), {
    method: "HEAD",
    redirect: "manual",
    headers: authHeaders(params.accessToken),
    signal: params.abortSignal,
  });
  if (!res.ok && !(res.status >= 300 && res.status < 400)) await throwForResponse(res, `${params.repo}@${commit}/${path}`);
  const etag = (res.headers.get("X-Linked-Etag") ?? res.headers.get("ETag") ?? "").replace(/^W\//, "").replace(/"/g, "");
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag)) throw new HubDownloadError(`${params.repo}@${commit}/${path}`, `hub gave no usable etag (${JSON.stringify(etag)})`);
  return etag;
}

/**
 * Points the snapshot's file at its blob: a relative symlink as huggingface_hub makes, else a hard link or a copy;
 * made under a temporary name and renamed over what is there (a dangling link whose blob was deleted), so a reader
 * never finds the file missing or half copied.
 */
async function linkSnapshot(blob: string, file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  removeStaleTemps(file);
  const tmp = tempSibling(file);
  trackTemp(tmp);
  try {
    try {
      symlinkSync(relative(dirname(file), blob), tmp);
    } catch {
      // No symlinks here (Windows without developer mode): the file itself, sharing the blob's bytes when it can.
      try {
        linkSync(blob, tmp);
      } catch {
        await fsp.copyFile(blob, tmp);
      }
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  } finally {
    untrackTemp(tmp);
  }
}

async function downloadBlob(params: DownloadToCacheParams, commit: string, path: string, blob: string): Promise<AsyncGenerator<DownloadProgressEvent, number>> {
  return (async function* () {
    const res = await (params.fetch ?? fetch)(resolveUrl(params.hubUrl ?? DEFAULT_HUB_URL, params.repo, commit, path), {
      headers: authHeaders(params.accessToken),
      signal: params.abortSignal,
    });
    if (!res.ok || !res.body) await throwForResponse(res, `${params.repo}@${commit}/${path}`);
    const total = Number(res.headers.get("Content-Length") ?? -1);
    mkdirSync(dirname(blob), { recursive: true });
    removeStaleTemps(blob);
    const partial = tempSibling(blob);
    // Tracked so the CLI's SIGINT handler (which exits without unwinding) removes it too.
    trackTemp(partial);
    const handle = await fsp.open(partial, "wx");
    let bytes = 0;
    let done = false;
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        await handle.write(value);
        bytes += value.byteLength;
        yield { event: "download" as const, path, bytes, total, fromCache: false };
      }
      await handle.close();
      if (total >= 0 && bytes !== total) throw new HubDownloadError(`${params.repo}/${path}`, `received ${bytes} of ${total} bytes`);
      await fsp.rename(partial, blob);
      done = true;
      return bytes;
    } finally {
      if (!done) {
        await handle.close().catch(() => undefined);
        await fsp.rm(partial, { force: true });
      }
      untrackTemp(partial);
    }
  })();
}

/**
 * Downloads the files (or finds them in the cache), yielding progress; returns where each one is.
 *
 * @example
 * const it = downloadToCacheIter({ repo: "org/name", paths: ["model.safetensors"], cacheDir });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.bytes, "of", r.value.total);
 */
export async function* downloadToCacheIter(params: DownloadToCacheParams): AsyncGenerator<DownloadProgressEvent, CachedFile[]> {
  for (const p of params.paths) assertSafeRepoPath(p, params.repo);
  if (params.paths.length === 0) return [];
  const commit = params.commit ?? (await resolveCommit(params));
  const root = snapshotDir(params.cacheDir, params.repo, commit);
  const out: CachedFile[] = [];
  for (const path of params.paths) {
    const localPath = localPathFor(root, path, params.repo);
    if (existsSync(localPath)) {
      const size = (await fsp.stat(localPath)).size;
      yield { event: "download", path, bytes: size, total: size, fromCache: true };
      out.push({ path, localPath, size, commit, fromCache: true });
      continue;
    }
    if (params.offline) throw new HubOfflineError(`${params.repo}@${commit}/${path}`, `HF_HUB_OFFLINE is set and the file is not in the cache (${params.cacheDir})`);
    const blob = join(repoCacheDir(params.cacheDir, params.repo), "blobs", await blobName(params, commit, path));
    // The same bytes at another commit (or fetched by another tool) are linked, not downloaded again.
    const fromCache = existsSync(blob);
    const size = fromCache ? (await fsp.stat(blob)).size : yield* await downloadBlob(params, commit, path, blob);
    if (fromCache) yield { event: "download", path, bytes: size, total: size, fromCache };
    await linkSnapshot(blob, localPath);
    out.push({ path, localPath, size, commit, fromCache });
  }
  return out;
}

/**
 * downloadToCacheIter without the progress events: the cached files once every one is there.
 *
 * @example
 * const [config] = await downloadToCache({ repo: "org/name", paths: ["config.json"], cacheDir: defaultCacheDir() });
 * console.log(config.localPath, config.fromCache);
 */
export async function downloadToCache(params: DownloadToCacheParams): Promise<CachedFile[]> {
  return drain(downloadToCacheIter(params));
}
