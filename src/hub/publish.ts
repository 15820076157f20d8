// Publishes files to a hub repo in one atomic commit: creates the repo if needed (optionally private), creates
// the branch if needed, or opens a pull request; yields progress events; returns the commit URL and oid.
// A commit is all or nothing on the hub, so an abort (Ctrl-C) before the final request leaves no commit; its
// message carries a key of the publish, so a rerun, or a commit whose answer was lost, is not made twice.
import { drain } from "../core/drain.ts";
import { commitIter, createBranch, createRepo, HubApiError, modelInfo, repoExists } from "@huggingface/hub";
import type { CommitOperation, CommitProgressEvent } from "@huggingface/hub";
import { sha256Hex } from "../core/sha256.ts";
import { HubError, HubHttpError, HubPublishError, hubApiError } from "./errors.ts";
import { findPublished, PUBLISH_KEY_TRAILER, type PublishedCommit } from "./find-published.ts";
import { assertHubToken, hubJsParams } from "./hub-settings.ts";
import type { HubParams } from "./hub-settings.ts";
import { describeError } from "./redact.ts";
import { assertSafeRepoPath } from "./repo-path-name.ts";
import { defaultHubFetch, fetchWithBlobBodies } from "./retry-fetch.ts";

export type PublishOperation =
  | { kind: "file"; path: string; content: Blob }
  /** Replace byte ranges of an existing file (e.g. a GGUF header): with xet only the changed bytes travel. */
  | { kind: "edit"; path: string; original: Blob; edits: Array<{ start: number; end: number; content: Blob }> }
  | { kind: "delete"; path: string };

export interface PublishParams extends HubParams {
  /** Target repo "org/name". */
  repo: string;
  operations: PublishOperation[];
  title: string;
  description?: string;
  /** Commit to this branch (created from branchFrom, default main, when missing). */
  branch?: string;
  branchFrom?: string;
  /** Open a pull request (against branch, or main) instead of committing. */
  pr?: boolean;
  /** The base commit of a pull request (default: the head of its branch). Commits to a branch use its head. */
  parentCommit?: string;
  /** Visibility of a repo we create; ignored for existing repos. */
  private?: boolean;
  /** Let the client offer xet (the hub dedups unchanged content); it falls back to LFS when the server does not. */
  useXet?: boolean;
}

export type PublishEvent = { event: "phase"; phase: "checkingRepo" | "creatingRepo" | "creatingBranch" } | CommitProgressEvent;

export interface PublishResult {
  repo: string;
  /** Branch, or the PR's base branch. */
  branch: string;
  commitOid: string;
  commitUrl: string;
  pullRequestUrl?: string;
  createdRepo: boolean;
  createdBranch: boolean;
  /** An earlier run published exactly this (the branch head or an open pull request carries its key): nothing was committed now. */
  alreadyPublished: boolean;
}

async function headOf(p: PublishParams, revision: string): Promise<string | undefined> {
  try {
    const info = await modelInfo({ name: p.repo, revision, additionalFields: ["sha"], ...hubJsParams(p) });
    return info.sha;
  } catch (err) {
    if (err instanceof HubApiError && err.statusCode === 404) return undefined;
    throw err;
  }
}

function toCommitOperation(op: PublishOperation): CommitOperation {
  switch (op.kind) {
    case "file":
      return { operation: "addOrUpdate", path: op.path, content: op.content };
    case "edit":
      return { operation: "edit", path: op.path, originalContent: op.original, edits: op.edits };
    case "delete":
      return { operation: "delete", path: op.path };
  }
}

// Files up to this size are keyed by content; bigger ones (weights, carried over or header-edited) by size, as the
// message already names the source commit and the plan.
const KEYED_BY_CONTENT_UP_TO = 64 * 1024;

async function blobKey(blob: Blob): Promise<string> {
  if (blob.size > KEYED_BY_CONTENT_UP_TO) return `size ${blob.size}`;
  return sha256Hex(new Uint8Array(await blob.arrayBuffer()));
}

async function operationKey(op: PublishOperation): Promise<unknown[]> {
  switch (op.kind) {
    case "file":
      return [op.kind, op.path, await blobKey(op.content)];
    case "edit":
      return [op.kind, op.path, op.original.size, await Promise.all(op.edits.map(async (e) => [e.start, e.end, await blobKey(e.content)]))];
    case "delete":
      return [op.kind, op.path];
  }
}

/** The same title, description and files give the same key on every run: 16 hex digits. */
async function publishKey(p: PublishParams): Promise<string> {
  const files = await Promise.all([...p.operations].sort((a, b) => a.path.localeCompare(b.path)).map(operationKey));
  return (await sha256Hex(new TextEncoder().encode(JSON.stringify([p.title, p.description ?? "", files])))).slice(0, 16);
}

/**
 * Publishes `operations` to `repo` in one commit (or pull request), yielding progress. The commit carries a key of
 * the publish (src/hub/find-published.ts): when the branch head, or an open pull request, already carries it, the
 * publish is a no-op that returns that commit (`alreadyPublished`); when the hub's answer to the commit is lost,
 * the commit it made is found and returned instead of an error.
 *
 * @example
 * const r = await drain(publishIter({ hubUrl, accessToken, repo: "me/llama-16k", operations, title: "yarnify: yarn x4" }));
 * console.log(r.alreadyPublished ? "nothing to do" : "published", r.commitUrl);
 */
export async function* publishIter(params: PublishParams): AsyncGenerator<PublishEvent, PublishResult> {
  const accessToken = params.accessToken;
  if (!accessToken) throw new HubPublishError(params.repo, "publishing needs a token (--token or HF_TOKEN)");
  assertHubToken(accessToken, "accessToken");
  if (params.operations.length === 0) throw new HubPublishError(params.repo, "nothing to publish");
  for (const op of params.operations) assertSafeRepoPath(op.path, params.repo);
  const branch = params.branch ?? "main";
  const fetch = fetchWithBlobBodies(defaultHubFetch(params));
  params = { ...params, fetch };
  const common = { hubUrl: params.hubUrl, fetch, accessToken };
  const key = await publishKey(params);
  const description = `${params.description ? `${params.description}\n\n` : ""}${PUBLISH_KEY_TRAILER} ${key}`;
  const lookup = { ...common, ...(params.abortSignal && { abortSignal: params.abortSignal }), repo: params.repo, branch, pr: params.pr ?? false, title: params.title, key };
  let createdRepo = false;
  let createdBranch = false;
  const result = (found: PublishedCommit, alreadyPublished: boolean): PublishResult => ({ repo: params.repo, branch, ...found, createdRepo, createdBranch, alreadyPublished });
  // Set once the commit request may have been sent: from then on a failure may hide a commit that landed.
  let committing = false;
  try {
    yield { event: "phase", phase: "checkingRepo" };
    if (!(await repoExists({ repo: params.repo, ...common }))) {
      if (params.pr) throw new HubPublishError(params.repo, "cannot open a pull request on a repo that does not exist");
      yield { event: "phase", phase: "creatingRepo" };
      try {
        await createRepo({ repo: params.repo, private: params.private ?? false, ...common });
        createdRepo = true;
      } catch (err) {
        // Someone (a parallel batch item) created it meanwhile: fine.
        if (!(err instanceof HubApiError && err.statusCode === 409)) throw err;
      }
    }
    const head = await headOf(params, branch);
    let parent = params.pr && params.parentCommit ? params.parentCommit : head;
    if (head === undefined) {
      if (params.pr) throw new HubPublishError(params.repo, `no branch ${branch} to open a pull request against`);
      yield { event: "phase", phase: "creatingBranch" };
      await createBranch({ repo: params.repo, branch, revision: params.branchFrom, ...common });
      createdBranch = true;
      parent = await headOf(params, branch);
    }
    if (!createdRepo && !createdBranch) {
      const earlier = await findPublished(lookup);
      if (earlier) return result(earlier, true);
    }
    params.abortSignal?.throwIfAborted();
    committing = true;
    const output = yield* commitIter({
      repo: params.repo,
      title: params.title,
      description,
      operations: params.operations.map(toCommitOperation),
      branch,
      isPullRequest: params.pr ?? false,
      // Guards a retried commit request: if the first one did land, the hub refuses the second (412).
      ...(parent !== undefined && { parentCommit: parent }),
      useXet: params.useXet ?? true,
      abortSignal: params.abortSignal,
      ...common,
    });
    if (!output) throw new HubPublishError(params.repo, "hub returned no commit");
    return result({ commitOid: output.commit.oid, commitUrl: output.commit.url, ...(output.pullRequestUrl && { pullRequestUrl: output.pullRequestUrl }) }, false);
  } catch (err) {
    if (params.abortSignal?.aborted) throw err;
    if (committing) {
      // The answer may have been lost after the hub did the work (a 5xx, a dropped connection, then a 412 on the
      // retry): if the commit is there, that is success. A failed look leaves the original error to report.
      const landed = await findPublished(lookup).catch(() => undefined);
      if (landed) return result(landed, false);
    }
    if (err instanceof HubError) throw err instanceof HubPublishError ? err : new HubPublishError(params.repo, `publish failed: ${err.message}`, { cause: err });
    const mapped = hubApiError(err, params.repo);
    throw new HubPublishError(params.repo, `publish failed: ${mapped instanceof HubHttpError ? mapped.problem : describeError(err)}`, { cause: err });
  }
}

/**
 * Drains publishIter; onEvent sees every progress event (for a progress bar or a log).
 *
 * @example
 * const r = await publish({ repo: "me/m", operations: [{ kind: "file", path: "config.json", content: new Blob([text]) }], title: "YaRN ×4", accessToken });
 */
export async function publish(params: PublishParams, onEvent?: (e: PublishEvent) => void): Promise<PublishResult> {
  return drain(publishIter(params), onEvent);
}
