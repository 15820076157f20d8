// Whether a publish already landed: the head commit of the branch, or of an open pull request with the same title,
// carries the publish's key in its message. Asked before committing (a rerun is a no-op) and after a commit whose
// answer was lost (the hub may have done the work), so the same change is never committed twice.
import { listCommits } from "@huggingface/hub";
import { hubApiError, throwForResponse } from "./errors.ts";
import { DEFAULT_HUB_URL, type HubParams, hubJsParams } from "./hub-settings.ts";

/** The description line that carries a publish's key: a git-style trailer. */
export const PUBLISH_KEY_TRAILER = "Yarnify-Publish:";

export interface FindPublishedParams extends HubParams {
  repo: string;
  /** The branch a commit goes to, or the base branch of a pull request. */
  branch: string;
  pr: boolean;
  /** The commit title; a pull request's title is its commit's title. */
  title: string;
  key: string;
}

export interface PublishedCommit {
  commitOid: string;
  commitUrl: string;
  pullRequestUrl?: string;
}

interface DiscussionsPage {
  discussions: Array<{ num: number; title: string; status: string; isPullRequest: boolean }>;
  count: number;
  start: number;
}

/** The head commit of a ref when its message carries the key. */
async function headCarrying(p: FindPublishedParams, ref: string): Promise<PublishedCommit | undefined> {
  try {
    // Encoded: a pull request's ref (refs/pr/N) and branch names hold slashes.
    for await (const head of listCommits({ repo: p.repo, revision: encodeURIComponent(ref), batchSize: 1, ...hubJsParams(p) })) {
      if (!`${head.title}\n${head.message}`.includes(`${PUBLISH_KEY_TRAILER} ${p.key}`)) return undefined;
      return { commitOid: head.oid, commitUrl: `${p.hubUrl ?? DEFAULT_HUB_URL}/${p.repo}/commit/${head.oid}` };
    }
    return undefined;
  } catch (err) {
    throw hubApiError(err, `${p.repo}@${ref}`);
  }
}

/** Numbers of the repo's open pull requests titled `title`, from every page of the listing. */
async function openPullRequestsTitled(p: FindPublishedParams): Promise<number[]> {
  const hubUrl = p.hubUrl ?? DEFAULT_HUB_URL;
  const found: number[] = [];
  for (let page = 0; ; page++) {
    const res = await (p.fetch ?? fetch)(`${hubUrl}/api/models/${p.repo}/discussions?type=pull_request&status=open&p=${page}`, {
      headers: p.accessToken ? { Authorization: `Bearer ${p.accessToken}` } : {},
      ...(p.abortSignal && { signal: p.abortSignal }),
    });
    if (!res.ok) await throwForResponse(res, `${p.repo} pull requests`);
    const body = (await res.json()) as DiscussionsPage;
    for (const d of body.discussions) if (d.isPullRequest && d.status === "open" && d.title === p.title) found.push(d.num);
    if (body.discussions.length === 0 || body.start + body.discussions.length >= body.count) return found;
  }
}

/**
 * The commit (and pull request) of a publish that already landed, or undefined.
 *
 * @example
 * const done = await findPublished({ hubUrl, accessToken, repo: "me/llama-16k", branch: "main", pr: false, title, key });
 * if (done) console.log(`already published: ${done.commitUrl}`);
 */
export async function findPublished(p: FindPublishedParams): Promise<PublishedCommit | undefined> {
  if (!p.pr) return headCarrying(p, p.branch);
  for (const num of await openPullRequestsTitled(p)) {
    const head = await headCarrying(p, `refs/pr/${num}`);
    if (head) return { ...head, pullRequestUrl: `${p.hubUrl ?? DEFAULT_HUB_URL}/${p.repo}/discussions/${num}` };
  }
  return undefined;
}
