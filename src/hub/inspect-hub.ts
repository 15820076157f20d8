// `yarnify inspect org/name[@rev]`: the config files of the hub model into the cache, then the local inspect.
// `path` in the result is the hf:// source (pinned to the commit), not the cache directory.
import { inspect } from "../inspect.ts";
import type { InspectResult } from "../inspect.ts";
import { fetchHubConfig } from "./fetch-hub-config.ts";
import type { HubParams } from "./hub-params.ts";
import { formatHubSource } from "./parse-hub-source.ts";
import type { HubSource } from "./parse-hub-source.ts";
import { defaultHubFetch } from "./retry-fetch.ts";

export async function inspectHub(params: HubParams & { source: string | HubSource; cacheDir?: string }): Promise<InspectResult & { commit: string }> {
  const h = await fetchHubConfig({ ...params, fetch: defaultHubFetch(params) });
  // The weights are not downloaded: the listing's file sizes (safetensors headers included, a few KiB) size them.
  const shards = h.files.filter((f) => f.path.endsWith(".safetensors"));
  const weights = shards.length
    ? { bytes: shards.reduce((n, f) => n + f.size, 0), source: "safetensors" as const, note: `file sizes of ${shards.length} safetensors file${shards.length > 1 ? "s" : ""} in the hub listing` }
    : undefined;
  const result = await inspect({ model: h.dir, ...(weights && { weights }) });
  return { ...result, path: formatHubSource({ repo: h.source.repo, revision: h.commit }), commit: h.commit };
}
