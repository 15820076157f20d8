// A remote repo file as a Blob whose slices are read with Range requests: the GGUF reader parses a header from
// it without downloading the tensors, and a commit "edit" uses it as the original content.
import { downloadFile } from "@huggingface/hub";
import { HubDownloadError, hubApiError } from "./errors.ts";
import { type HubParams, hubJsParams } from "./hub-params.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";

export interface OpenHubFileParams extends HubParams {
  repo: string;
  revision?: string;
  path: string;
}

/**
 * A repo file as a Blob whose slices are fetched with Range requests (nothing is downloaded until read).
 *
 * @example
 * const blob = await openHubFile({ repo: "org/m-GGUF", path: "m-Q4_K_M.gguf", revision: commit });
 * console.log(blob.size);
 */
export async function openHubFile(params: OpenHubFileParams): Promise<Blob> {
  assertSafeRepoPath(params.path, params.repo);
  const blob = await downloadFile({
    repo: params.repo,
    path: params.path,
    revision: params.revision,
    ...hubJsParams(params),
  }).catch((err: unknown) => {
    throw hubApiError(err, `${params.repo}@${params.revision ?? "main"}/${params.path}`);
  });
  if (!blob) throw new HubDownloadError(`${params.repo}@${params.revision ?? "main"}`, `no file ${params.path}`);
  return blob;
}

/** Reads [offset, offset+length) of a blob; for a remote blob this is one Range request. */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Reads byte ranges of a Blob (for a remote one, each read is one Range request).
 *
 * @example
 * const read = blobRangeReader(await openHubFile({ repo: "org/m-GGUF", path: "m.gguf" }));
 * const magic = await read(0, 4);
 */
export function blobRangeReader(blob: Blob): RangeReader {
  return async (offset, length) => new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer());
}
