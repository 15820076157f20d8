// Publishes files to a hub repo in one atomic commit: creates the repo if needed (optionally private), creates
// the branch if needed, or opens a pull request; yields progress events; returns the commit URL and oid.
// A commit is all or nothing on the hub, so an abort (Ctrl-C) before the final request leaves no commit.
import { drain } from "../core/drain.ts";
import { commitIter, createBranch, createRepo, HubApiError, modelInfo, repoExists } from "@huggingface/hub";
import type { CommitOperation, CommitProgressEvent } from "@huggingface/hub";
import { HubPublishError } from "./errors.ts";
import { DEFAULT_HUB_URL, hubJsParams } from "./hub-params.ts";
import type { HubParams } from "./hub-params.ts";
import { describeError } from "./redact.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";
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

/**
 * One atomic commit of `operations` to a repo (created when missing), to a branch, or as a pull request; yields upload progress.
 *
 * @example
 * const it = publishIter({ repo: "org/name", operations, title: "YaRN ×4", pr: true, accessToken });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.event);
 */
export async function* publishIter(params: PublishParams): AsyncGenerator<PublishEvent, PublishResult> {
  const accessToken = params.accessToken;
  if (!accessToken) throw new HubPublishError(params.repo, "publishing needs a token (--token or HF_TOKEN)");
  if (params.operations.length === 0) throw new HubPublishError(params.repo, "nothing to publish");
  for (const op of params.operations) assertSafeRepoPath(op.path, params.repo);
  const branch = params.branch ?? "main";
  const fetch = fetchWithBlobBodies(defaultHubFetch(params));
  params = { ...params, fetch };
  const common = { hubUrl: params.hubUrl, fetch, accessToken };
  try {
    yield { event: "phase", phase: "checkingRepo" };
    let createdRepo = false;
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
    let createdBranch = false;
    const head = await headOf(params, branch);
    let parent = params.pr && params.parentCommit ? params.parentCommit : head;
    if (head === undefined) {
      if (params.pr) throw new HubPublishError(params.repo, `no branch ${branch} to open a pull request against`);
      yield { event: "phase", phase: "creatingBranch" };
      await createBranch({ repo: params.repo, branch, revision: params.branchFrom, ...common });
      createdBranch = true;
      parent = await headOf(params, branch);
    }
    params.abortSignal?.throwIfAborted();
    const output = yield* commitIter({
      repo: params.repo,
      title: params.title,
      ...(params.description !== undefined && { description: params.description }),
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
    return {
      repo: params.repo,
      branch,
      commitOid: output.commit.oid,
      commitUrl: output.commit.url,
      ...(output.pullRequestUrl && { pullRequestUrl: output.pullRequestUrl }),
      createdRepo,
      createdBranch,
    };
  } catch (err) {
    if (params.abortSignal?.aborted) throw err;
    if (err instanceof HubPublishError) throw err;
    const status = err instanceof HubApiError ? ` (HTTP ${err.statusCode})` : "";
    // A pull request is not retried after a server error (src/hub/retry-fetch.ts): say where to look.
    const mayExist = params.pr && err instanceof HubApiError && err.statusCode >= 500
      ? `; the pull request may have been opened: check ${params.hubUrl ?? DEFAULT_HUB_URL}/${params.repo}/discussions before running again`
      : "";
    throw new HubPublishError(params.repo, `publish failed${status}: ${describeError(err)}${mayExist}`, { cause: err });
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
