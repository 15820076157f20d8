// A repo file name is checked before it is used (a commit's path, a local path): no "..", no absolute paths, no
// drive letters, no NUL. No file system here, so the browser entry can check the paths it publishes.
import { UnsafeRepoPathError } from "./errors.ts";

/**
 * Refuses a repo file name that is empty, absolute, has a ".." (or "." or empty) segment, a backslash or a NUL.
 *
 * @example
 * assertSafeRepoPath("../etc/passwd", "org/name"); // throws UnsafeRepoPathError
 */
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
