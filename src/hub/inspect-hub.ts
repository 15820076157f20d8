// `yarnify inspect org/name[@rev]`: the config files of the hub model into the cache, then the local inspect.
// `path` in the result is the hf:// source (pinned to the commit), not the cache directory.
import { inspect } from "../inspect.ts";
import type { InspectResult } from "../inspect.ts";
import { fetchHubConfig } from "./fetch-hub-config.ts";
import type { HubParams } from "./hub-params.ts";
import { formatHubSource } from "./parse-hub-source.ts";
import type { HubSource } from "./parse-hub-source.ts";
import { defaultHubFetch } from "./retry-fetch.ts";

/**
 * inspect() for a hub model: its config files fetched into the cache, the result's path the hf:// source pinned to the commit.
 *
 * @example
 * const r = await inspectHub({ source: "Qwen/Qwen2.5-7B-Instruct" });
 * console.log(r.path, r.rope.originalContext);
 */
export async function inspectHub(params: HubParams & { source: string | HubSource; cacheDir?: string }): Promise<InspectResult & { commit: string }> {
  const h = await fetchHubConfig({ ...params, fetch: defaultHubFetch(params) });
  const result = await inspect({ model: h.dir });
  return { ...result, path: formatHubSource({ repo: h.source.repo, revision: h.commit }), commit: h.commit };
}
