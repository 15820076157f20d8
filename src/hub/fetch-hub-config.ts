// For `inspect` and planning: the config files of a hub model in the local cache, as a directory any local
// reader (the HF converter, inspect) can open. Weights are never downloaded here.
import { defaultCacheDir, snapshotDir } from "./cache-dir.ts";
import { downloadToCache, resolveCommit } from "./download-to-cache.ts";
import { HubSourceError } from "./errors.ts";
import type { HubParams } from "./hub-params.ts";
import { listHubFiles } from "./list-hub-files.ts";
import type { HubFileEntry } from "./list-hub-files.ts";
import { parseHubSource } from "./parse-hub-source.ts";
import type { HubSource } from "./parse-hub-source.ts";

export const CONFIG_FILES = ["config.json", "tokenizer_config.json", "generation_config.json"];

export interface HubConfigDir {
  source: HubSource;
  commit: string;
  /** Snapshot directory holding the config files. */
  dir: string;
  /** Every file of the repo at that commit. */
  files: HubFileEntry[];
}

/**
 * The config files of a hub model fetched into the cache (no weights), as a directory the local readers open.
 *
 * @example
 * const h = await fetchHubConfig({ source: "Qwen/Qwen2.5-7B-Instruct" });
 * const info = await inspect({ model: h.dir });
 */
export async function fetchHubConfig(params: HubParams & { source: string | HubSource; cacheDir?: string }): Promise<HubConfigDir> {
  const source = typeof params.source === "string" ? parseHubSource(params.source) : params.source;
  if (!source) throw new HubSourceError(String(params.source), "not a hub source (expected org/name[@revision])");
  const cacheDir = params.cacheDir ?? defaultCacheDir();
  const commit = await resolveCommit({ ...params, repo: source.repo, revision: source.revision, cacheDir });
  const files = await listHubFiles({ ...params, repo: source.repo, revision: commit, cacheDir });
  const wanted = CONFIG_FILES.filter((p) => files.some((f) => f.path === p));
  if (!wanted.includes("config.json")) throw new HubSourceError(`${source.repo}@${commit.slice(0, 12)}`, "no config.json (for a GGUF repo, name the file: org/name/file.gguf)");
  await downloadToCache({ ...params, repo: source.repo, commit, paths: wanted, cacheDir, listing: files });
  return { source, commit, dir: snapshotDir(cacheDir, source.repo, commit), files };
}
