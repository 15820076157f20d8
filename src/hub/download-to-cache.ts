// Downloads repo files into the local cache, keyed by the commit they come from, so a rerun finds them there.
// Writes go to a ".partial" file that is renamed into place only when complete; an error or an abort
// (Ctrl-C) deletes it, so no partial file is ever left where a complete one is expected.
import { drain } from "../core/drain.ts";
import { existsSync, mkdirSync, promises as fsp } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { snapshotDir } from "./cache-dir.ts";
import { HubDownloadError, throwForResponse } from "./errors.ts";
import type { HubParams } from "./hub-params.ts";
import { DEFAULT_HUB_URL } from "./hub-params.ts";
import { localPathFor, assertSafeRepoPath } from "./safe-repo-path.ts";
import { trackTemp, untrackTemp } from "../core/io/temp-paths.ts";

export interface DownloadProgressEvent {
  event: "download";
  path: string;
  bytes: number;
  total: number;
  fromCache: boolean;
}

export interface CachedFile {
  path: string;
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
  cacheDir: string;
  /** Commit to read from when already known (skips the probe that resolves the revision). */
  commit?: string;
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

function resolveUrl(hubUrl: string, repo: string, revision: string, path: string): string {
  return `${hubUrl}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

function authHeaders(accessToken: string | undefined): Record<string, string> {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

/**
 * The commit a revision (branch, tag, or commit) points to, from the model info API.
 *
 * @example
 * const commit = await resolveCommit({ repo: "Qwen/Qwen2.5-7B-Instruct", revision: "main" });
 */
export async function resolveCommit(params: HubParams & { repo: string; revision?: string }): Promise<string> {
  const revision = params.revision ?? "main";
  if (COMMIT_RE.test(revision)) return revision;
  const res = await (params.fetch ?? fetch)(`${params.hubUrl ?? DEFAULT_HUB_URL}/api/models/${params.repo}/revision/${encodeURIComponent(revision)}`, {
    headers: authHeaders(params.accessToken),
    signal: params.abortSignal,
  });
  if (!res.ok) await throwForResponse(res, `${params.repo}@${revision}`);
  const info = (await res.json()) as { sha?: unknown };
  if (typeof info.sha !== "string" || !COMMIT_RE.test(info.sha)) throw new HubDownloadError(`${params.repo}@${revision}`, "hub did not say which commit it serves");
  return info.sha;
}

async function downloadOne(params: DownloadToCacheParams, commit: string, path: string, dest: string): Promise<AsyncGenerator<DownloadProgressEvent, number>> {
  return (async function* () {
    const res = await (params.fetch ?? fetch)(resolveUrl(params.hubUrl ?? DEFAULT_HUB_URL, params.repo, commit, path), {
      headers: authHeaders(params.accessToken),
      signal: params.abortSignal,
    });
    if (!res.ok || !res.body) await throwForResponse(res, `${params.repo}@${commit}/${path}`);
    const total = Number(res.headers.get("Content-Length") ?? -1);
    mkdirSync(dirname(dest), { recursive: true });
    const partial = `${dest}.partial-${randomBytes(4).toString("hex")}`;
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
      await fsp.rename(partial, dest);
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
    const size = yield* await downloadOne(params, commit, path, localPath);
    out.push({ path, localPath, size, commit, fromCache: false });
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
