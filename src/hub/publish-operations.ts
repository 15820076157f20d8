// What a publish commits, per case:
// - HF format to the source repo (--pr / --branch): the changed config files only; the weights are untouched.
// - HF format to a new repo: every source file, the changed config files instead of the originals, and our model
//   card as README.md. Read from a cache snapshot when given: the client reads each file twice (its sha256, then
//   the upload or xet chunking), which from the network would download the weights twice.
// - GGUF: an "edit" of the original file whose first bytes (the header) are replaced. Over xet only the chunks
//   holding changed bytes are uploaded, to the same repo or (by the CAS's global dedup) a new one; over plain LFS
//   the spliced file is uploaded whole.
import { openAsBlob } from "node:fs";
import type { HubParams } from "./hub-params.ts";
import { listHubFiles } from "./list-hub-files.ts";
import { openHubFile } from "./open-hub-file.ts";
import { localPathFor } from "./safe-repo-path.ts";
import type { PublishOperation } from "./publish.ts";

export { ggufHeaderEdit } from "./gguf-header-edit.ts";

export interface ChangedFile {
  path: string;
  content: Blob | Uint8Array | string;
}

function toBlob(content: Blob | Uint8Array | string): Blob {
  return content instanceof Blob ? content : new Blob([content as BlobPart]);
}

export interface HfPublishOperationsParams extends HubParams {
  source: { repo: string; revision?: string };
  /** Publishing to the source repo itself (a PR or a branch). */
  sameRepo: boolean;
  changed: ChangedFile[];
  /** README.md to write; by default only for a new repo (a PR on the source keeps its card). */
  card?: string;
  /** A cache snapshot of the source commit holding every file: they are read from there, not the network. */
  snapshot?: string;
}

/**
 * The operations of an HF-format publish: the changed files (and the card), plus, for a new repo, every other source file read from the cache snapshot.
 *
 * @example
 * const ops = await hfPublishOperations({ source: { repo: "org/name", revision: commit }, sameRepo: true, changed: [{ path: "config.json", content }] });
 */
export async function hfPublishOperations(params: HfPublishOperationsParams): Promise<PublishOperation[]> {
  const ops: PublishOperation[] = params.changed.map((c) => ({ kind: "file", path: c.path, content: toBlob(c.content) }));
  if (params.card !== undefined) ops.push({ kind: "file", path: "README.md", content: new Blob([params.card]) });
  if (params.sameRepo) return ops;
  const replaced = new Set(ops.map((o) => o.path));
  for (const f of await listHubFiles({ ...params, repo: params.source.repo, revision: params.source.revision })) {
    if (replaced.has(f.path)) continue;
    const content = params.snapshot
      ? await openAsBlob(localPathFor(params.snapshot, f.path, params.source.repo))
      : await openHubFile({ ...params, repo: params.source.repo, revision: params.source.revision, path: f.path });
    ops.push({ kind: "file", path: f.path, content });
  }
  return ops;
}
