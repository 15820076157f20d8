// File names come from a remote listing: check them before they become local paths, so a hostile or broken
// repo cannot write outside the directory we chose (no "..", no absolute paths, no drive letters, no NUL).
import { resolve, sep } from "node:path";
import { UnsafeRepoPathError } from "./errors.ts";

export function assertSafeRepoPath(path: string, repo: string): void {
  const bad =
    path === "" ||
    path.length > 1024 ||
    path.includes("\0") ||
    path.includes("\\") ||
    path.startsWith("/") ||
    /^[A-Za-z]:/.test(path) ||
    path.split("/").some((seg) => seg === "" || seg === "." || seg === "..");
  if (bad) throw new UnsafeRepoPathError(repo, `refusing file name ${JSON.stringify(path.slice(0, 200))} (absolute, empty or "..")`);
}

/** The local path of a repo file under root, after checking the name and that it stays inside root. */
export function localPathFor(root: string, repoPath: string, repo: string): string {
  assertSafeRepoPath(repoPath, repo);
  const base = resolve(root);
  const full = resolve(base, ...repoPath.split("/"));
  if (!full.startsWith(base + sep)) throw new UnsafeRepoPathError(repo, `${repoPath} resolves outside ${base}`);
  return full;
}
