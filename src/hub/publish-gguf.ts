// Publishes patched GGUF headers: each file is a commit "edit" of the original on the hub, its first bytes
// (up to the old tensor-data offset) replaced by the new header (which ends at the new data offset). To the
// source repo (--pr / --branch) only the GGUF changes; a new repo also gets a model card.
// The original is downloaded once into the cache: the LFS protocol names the new file by its sha256, so its bytes
// are read whole anyway, and the client reads them twice (hashing, then xet chunking, which uploads only the
// chunks that changed); from the cache the second pass, and any rerun, reads the disk instead of the network.
import { drain } from "../core/drain.ts";
import { openAsBlob, readFileSync } from "node:fs";
import type { Plan } from "../core/types.ts";
import { HubHttpError } from "./errors.ts";
import { downloadToCache, downloadToCacheIter } from "./download-to-cache.ts";
import type { DownloadProgressEvent } from "./download-to-cache.ts";
import { defaultCacheDir } from "./cache-dir.ts";
import { type HubParams, splitHubParams } from "./hub-params.ts";
import { commitMessageFor, renderModelCard } from "./model-card.ts";
import type { EngineInstructions, ValidationFigures } from "./model-card.ts";
import { publishIter } from "./publish.ts";
import type { PublishEvent, PublishOperation, PublishResult } from "./publish.ts";
import { ggufHeaderEdit } from "./publish-operations.ts";

export interface PatchedGgufHeader {
  /** Path of the GGUF in the source repo (and in the target). */
  path: string;
  /** New header bytes, padded to the alignment (the GGUF converter's buildPatchedHeader). */
  header: Uint8Array;
  /** Bytes of the original replaced: its tensor-data offset. */
  replaces: number;
}

export interface PublishGgufParams extends HubParams {
  /** Source repo and the commit the headers were read from (hubFileLocation's commit). */
  source: { repo: string; commit: string };
  files: PatchedGgufHeader[];
  plan: Plan;
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  cacheDir?: string;
  engines?: EngineInstructions[];
  validation?: ValidationFigures;
  toolVersion?: string;
  /** The commit's title (the `--commit-message`); yarnify's, naming the change, by default. */
  commitMessage?: string;
}

/**
 * Publishes new GGUF headers as edits of the originals (only the changed bytes travel over xet): a pull request or branch on the source, or a new repo with a model card.
 *
 * @example
 * const it = publishPatchedGgufIter({ source: { repo: "org/m-GGUF", commit }, files, plan, push: "me/m-GGUF-128k", accessToken });
 */
export async function* publishPatchedGgufIter(params: PublishGgufParams): AsyncGenerator<PublishEvent | DownloadProgressEvent, PublishResult & { card?: string }> {
  const { hub } = splitHubParams(params);
  const target = params.push ?? params.source.repo;
  const sameRepo = target === params.source.repo;
  const cacheDir = params.cacheDir ?? defaultCacheDir();
  const originals = yield* downloadToCacheIter({ ...hub, repo: params.source.repo, commit: params.source.commit, paths: params.files.map((f) => f.path), cacheDir });
  const operations: PublishOperation[] = [];
  for (const [i, f] of params.files.entries()) {
    const original = await openAsBlob(originals[i].localPath);
    operations.push(ggufHeaderEdit({ path: f.path, original, header: f.header, replaces: f.replaces }));
  }
  let card: string | undefined;
  if (!sameRepo) {
    let existingCard: string | undefined;
    try {
      const [readme] = await downloadToCache({ ...hub, repo: params.source.repo, commit: params.source.commit, paths: ["README.md"], cacheDir });
      existingCard = readFileSync(readme.localPath, "utf8");
    } catch (err) {
      // A repo without a card: our card stands alone. Anything else is a real failure.
      if (!(err instanceof HubHttpError && err.status === 404)) throw err;
    }
    const context = params.plan.context;
    const engines = params.engines ?? params.files.map((f) => ({ engine: `llama.cpp (${f.path})`, command: `llama-server --hf-repo ${target} --hf-file ${f.path} -c ${context}` }));
    card = renderModelCard({
      baseModel: params.source.repo,
      plan: params.plan,
      format: "gguf",
      files: params.files.map((f) => f.path),
      engines,
      ...(existingCard !== undefined && { existingCard }),
      ...(params.validation && { validation: params.validation }),
      ...(params.toolVersion && { toolVersion: params.toolVersion }),
    });
    operations.push({ kind: "file", path: "README.md", content: new Blob([card]) });
  }
  const message = commitMessageFor(params.plan, "gguf", `${params.source.repo}@${params.source.commit.slice(0, 12)}`);
  const result = yield* publishIter({
    ...hub,
    repo: target,
    operations,
    title: params.commitMessage ?? message.title,
    description: message.description.replace("Weights unchanged.", "Header only; tensor data unchanged."),
    ...(params.branch !== undefined && { branch: params.branch }),
    pr: params.pr ?? false,
    private: params.private ?? false,
  });
  return { ...result, ...(card !== undefined && { card }) };
}

/**
 * publishPatchedGgufIter drained: `onEvent` sees each progress event.
 *
 * @example
 * await publishPatchedGguf({ source: { repo: "org/m-GGUF", commit }, files: [{ path: "m.gguf", header, replaces }], plan, pr: true, accessToken });
 */
export async function publishPatchedGguf(params: PublishGgufParams, onEvent?: (e: PublishEvent | DownloadProgressEvent) => void): Promise<PublishResult & { card?: string }> {
  return drain(publishPatchedGgufIter(params), onEvent);
}
