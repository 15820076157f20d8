// Where the local readers can open a hub model: its config files (or every file) in the cache, or a GGUF file's
// resolve URL, read with Range requests. inspect, flags, validate and eval take a hub source through it.
import type { RemoteAccess } from "../core/converter.ts";
import { drain } from "../core/drain.ts";
import { existsSync } from "node:fs";
import { defaultCacheDir, snapshotDir } from "./cache-dir.ts";
import { downloadToCacheIter, type DownloadProgressEvent, resolveCommit } from "./download-to-cache.ts";
import { HubOfflineError, HubSourceError } from "./errors.ts";
import { fetchHubConfig } from "./fetch-hub-config.ts";
import { hubFileLocation } from "./hub-file-location.ts";
import type { HubFileEntry } from "./list-hub-files.ts";
import type { HubParams } from "./hub-params.ts";
import { formatHubSource, type HubSource, parseHubSource } from "./parse-hub-source.ts";
import { defaultHubFetch } from "./retry-fetch.ts";
import { localPathFor } from "./safe-repo-path.ts";

export interface LocateHubModelParams extends HubParams {
  /** "org/name[@rev]", "org/name-GGUF[@rev]/file.gguf", "hf://…", or an already parsed source. */
  source: string | HubSource;
  cacheDir?: string;
  /**
   * What a repo source needs locally: "config" (config.json, tokenizer_config.json, generation_config.json: enough
   * to read its RoPE), or "all" (every file: weights and tokenizer, for eval). Default "config".
   */
  files?: "config" | "all";
}

export interface HubModelLocation {
  source: HubSource;
  /** The commit everything is read from. */
  commit: string;
  /** What the readers open: a cache snapshot directory or file, or a GGUF's resolve URL pinned to the commit. */
  model: string;
  /** For a URL: the headers and fetch of its Range requests. */
  remote?: RemoteAccess;
  /** The source pinned to the commit (hf://org/name@<commit>[/path]), for reports in place of the local path. */
  label: string;
  /** A repo source: its files at the commit, as the hub lists them (sizes of weights not downloaded). */
  listing?: HubFileEntry[];
}

/**
 * Locates a hub model for the local readers, yielding the progress of each download; returns where it is.
 *
 * @example
 * const it = locateHubModelIter({ source: "org/name", files: "all" });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.path, r.value.bytes);
 */
export async function* locateHubModelIter(params: LocateHubModelParams): AsyncGenerator<DownloadProgressEvent, HubModelLocation> {
  const source = typeof params.source === "string" ? parseHubSource(params.source) : params.source;
  if (!source) throw new HubSourceError(String(params.source), "not a hub source (expected org/name[@revision][/file.gguf])");
  const hub: HubParams = { ...params, fetch: defaultHubFetch(params) };
  const cacheDir = params.cacheDir ?? defaultCacheDir();
  if (source.path !== undefined) {
    if (!source.path.endsWith(".gguf")) {
      throw new HubSourceError(formatHubSource(source), "a single hub file is read only when it is a GGUF (.gguf); for a Hugging Face format model name the repo (org/name)");
    }
    const commit = await resolveCommit({ ...hub, repo: source.repo, revision: source.revision, cacheDir });
    const label = formatHubSource({ repo: source.repo, revision: commit, path: source.path });
    // A GGUF the cache holds (`hf download` fetched it) is read there; otherwise its header over Range requests.
    const cached = localPathFor(snapshotDir(cacheDir, source.repo, commit), source.path, source.repo);
    if (existsSync(cached)) return { source, commit, model: cached, label };
    if (params.offline) throw new HubOfflineError(label, `HF_HUB_OFFLINE is set and the file is not in the cache (${cacheDir})`);
    const { url, headers, fetch } = await hubFileLocation({ ...hub, repo: source.repo, revision: commit, path: source.path });
    return { source, commit, model: url, remote: { headers, fetch }, label };
  }
  const config = await fetchHubConfig({ ...hub, source, cacheDir });
  if (params.files === "all") {
    yield* downloadToCacheIter({ ...hub, repo: source.repo, commit: config.commit, paths: config.files.map((f) => f.path), cacheDir, listing: config.files });
  }
  return { source, commit: config.commit, model: config.dir, label: formatHubSource({ repo: source.repo, revision: config.commit }), listing: config.files };
}

/**
 * locateHubModelIter drained: `onEvent` sees each download's progress.
 *
 * @example
 * const where = await locateHubModel({ source: "org/m-GGUF/m-Q4_K_M.gguf", accessToken });
 * const r = await inspect({ model: where.model, remote: where.remote });
 */
export async function locateHubModel(params: LocateHubModelParams, onEvent?: (e: DownloadProgressEvent) => void): Promise<HubModelLocation> {
  return drain(locateHubModelIter(params), onEvent);
}
