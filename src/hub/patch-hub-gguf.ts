// `yarnify patch org/model-GGUF/file.gguf --push|--pr|--branch`: read each GGUF header from the hub with Range
// requests, let the GGUF converter build the new header, and publish the headers as edits of the originals.
// The GGUF converter builds the header (loaded when first needed); tests may pass another patchHeader.
import { drain } from "../core/drain.ts";
import type { GgufHeaderPatcher } from "../core/converter.ts";
import type { Plan, PlanTarget } from "../core/types.ts";
import { HubSourceError } from "./errors.ts";
import { hubFileLocation } from "./hub-file-location.ts";
import { type HubParams, splitHubParams } from "./hub-params.ts";
import type { ValidationFigures } from "./model-card.ts";
import { parseHubSource } from "./parse-hub-source.ts";
import type { HubSource } from "./parse-hub-source.ts";
import { publishPatchedGgufIter } from "./publish-gguf.ts";
import type { PatchedGgufHeader } from "./publish-gguf.ts";
import type { PublishEvent, PublishResult } from "./publish.ts";
import type { DownloadProgressEvent } from "./download-to-cache.ts";

export type { GgufHeaderPatcher };

/** The GGUF converter's remote header patcher, loaded on first use (HF-format hub work never loads it). */
export const ggufHeaderPatcher = async (): Promise<GgufHeaderPatcher> => (await import("../../converters/gguf/hub-header.ts")).patchGgufHeader;

export interface PatchHubGgufParams extends PlanTarget, HubParams {
  /** "org/name[@rev]/file.gguf", or a repo plus files. */
  source: string | HubSource;
  files?: string[];
  /** Builds a remote file's new header; the GGUF converter's by default. */
  patchHeader?: GgufHeaderPatcher;
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  cacheDir?: string;
  validation?: ValidationFigures;
  toolVersion?: string;
  /** The commit's title (the `--commit-message`); yarnify's, naming the change, by default. */
  commitMessage?: string;
}

export interface PatchHubGgufResult {
  source: HubSource;
  commit: string;
  files: Array<{ path: string; headerBytes: { before: number; after: number } }>;
  plan: Plan;
  publish: PublishResult;
  card?: string;
}

/**
 * Patches hub GGUF files without downloading their tensors: each header is read with Range requests, rebuilt, and published as an edit of the original (`push`, `pr` or `branch`).
 *
 * @example
 * const it = patchHubGgufIter({ source: "org/m-GGUF/m.gguf", factor: 4, push: "me/m-GGUF-128k", accessToken });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.event);
 */
export async function* patchHubGgufIter(params: PatchHubGgufParams): AsyncGenerator<PublishEvent | DownloadProgressEvent, PatchHubGgufResult> {
  const source = typeof params.source === "string" ? parseHubSource(params.source) : params.source;
  if (!source) throw new HubSourceError(String(params.source), "not a hub source");
  const paths = params.files ?? (source.path ? [source.path] : []);
  if (paths.length === 0 || paths.some((p) => !p.endsWith(".gguf"))) throw new HubSourceError(source.repo, "name the GGUF file(s) to patch (org/name/file.gguf)");
  if (params.push === undefined && !params.pr && params.branch === undefined) {
    throw new HubSourceError(source.repo, "publishing a GGUF needs --push, --pr or --branch (for a local file, patch the URL with --out)");
  }
  const { hub, rest } = splitHubParams(params);
  const { source: _s, files: _f, patchHeader, push, branch, pr, private: priv, cacheDir, validation, toolVersion, commitMessage, ...target } = rest;
  let commit: string | undefined;
  let thePlan: Plan | undefined;
  const headers: PatchedGgufHeader[] = [];
  const sizes: PatchHubGgufResult["files"] = [];
  for (const path of paths) {
    // Pin every file to the commit of the first, so all headers come from one snapshot.
    const location = await hubFileLocation({ ...hub, repo: source.repo, revision: commit ?? source.revision, path });
    commit = location.commit;
    const built = await (patchHeader ?? (await ggufHeaderPatcher()))({ location, path, target, ...(hub.abortSignal && { signal: hub.abortSignal }) });
    thePlan ??= built.plan;
    headers.push({ path, header: built.header, replaces: built.replaces });
    sizes.push({ path, headerBytes: { before: built.replaces, after: built.header.length } });
  }
  const published = yield* publishPatchedGgufIter({
    ...hub,
    source: { repo: source.repo, commit: commit! },
    files: headers,
    plan: thePlan!,
    ...(push !== undefined && { push }),
    ...(branch !== undefined && { branch }),
    ...(pr !== undefined && { pr }),
    ...(priv !== undefined && { private: priv }),
    ...(cacheDir !== undefined && { cacheDir }),
    ...(validation && { validation }),
    ...(toolVersion && { toolVersion }),
    ...(commitMessage !== undefined && { commitMessage }),
  });
  const { card, ...publish } = published;
  return { source, commit: commit!, files: sizes, plan: thePlan!, publish, ...(card !== undefined && { card }) };
}

/**
 * patchHubGgufIter drained: `onEvent` sees each progress event.
 *
 * @example
 * const r = await patchHubGguf({ source: "org/m-GGUF/m-Q4_K_M.gguf", factor: 4, pr: true, accessToken });
 * console.log(r.publish.pullRequestUrl);
 */
export async function patchHubGguf(params: PatchHubGgufParams, onEvent?: (e: PublishEvent | DownloadProgressEvent) => void): Promise<PatchHubGgufResult> {
  return drain(patchHubGgufIter(params), onEvent);
}
