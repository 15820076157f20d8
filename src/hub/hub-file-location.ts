// Where a converter can read a hub file with Range requests: the resolve URL pinned to a commit (so every
// range comes from the same bytes), the Authorization header, and the fetch to use. The GGUF converter's
// remote source (openRemoteSource(url, { fetch, headers })) reads a header from it without the tensors.
import type { RemoteFile } from "../core/converter.ts";
import { resolveCommit } from "./download-to-cache.ts";
import type { HubParams } from "./hub-params.ts";
import { DEFAULT_HUB_URL } from "./hub-params.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";

export interface HubFileLocation extends RemoteFile {
  commit: string;
}

/**
 * Where a hub file can be read with Range requests: its resolve URL pinned to the commit the revision points to, with auth.
 *
 * @example
 * const loc = await hubFileLocation({ repo: "org/m-GGUF", path: "m-Q4_K_M.gguf", accessToken });
 * const header = await readGgufHeader(openRemoteSource(loc.url, loc));
 */
export async function hubFileLocation(params: HubParams & { repo: string; revision?: string; path: string }): Promise<HubFileLocation> {
  assertSafeRepoPath(params.path, params.repo);
  const commit = await resolveCommit(params);
  const url = `${params.hubUrl ?? DEFAULT_HUB_URL}/${params.repo}/resolve/${commit}/${params.path.split("/").map(encodeURIComponent).join("/")}`;
  return {
    url,
    headers: params.accessToken ? { Authorization: `Bearer ${params.accessToken}` } : {},
    fetch: params.fetch ?? globalThis.fetch,
    commit,
  };
}
