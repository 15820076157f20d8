// File names come from a remote listing: check them before they become local paths, so a hostile or broken
// repo cannot write outside the directory we chose (no "..", no absolute paths, no drive letters, no NUL).
import { resolve, sep } from "node:path";
import { UnsafeRepoPathError } from "./errors.ts";
import { assertSafeRepoPath } from "./repo-path-name.ts";

export { assertSafeRepoPath };

/** The local path of a repo file under root, after checking the name and that it stays inside root. */
export function localPathFor(root: string, repoPath: string, repo: string): string {
  assertSafeRepoPath(repoPath, repo);
  const base = resolve(root);
  const full = resolve(base, ...repoPath.split("/"));
  if (!full.startsWith(base + sep)) throw new UnsafeRepoPathError(repo, `${repoPath} resolves outside ${base}`);
  return full;
}
