// Where downloaded hub files are kept so a rerun does not download them again.
import { homedir } from "node:os";
import { join } from "node:path";
import type { Env } from "./hub-params.ts";

/**
 * YARNIFY_CACHE, else $XDG_CACHE_HOME/yarnify, else ~/.cache/yarnify.
 *
 * @example
 * const dir = defaultCacheDir(); // ~/.cache/yarnify unless YARNIFY_CACHE or XDG_CACHE_HOME say otherwise
 */
export function defaultCacheDir(env: Env = process.env): string {
  if (env.YARNIFY_CACHE) return env.YARNIFY_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "yarnify");
  return join(homedir(), ".cache", "yarnify");
}

/**
 * The snapshot directory of one commit of a repo: <cache>/hub/models--org--name/snapshots/<commit>.
 *
 * @example
 * snapshotDir(defaultCacheDir(), "org/name", commit); // …/hub/models--org--name/snapshots/<commit>
 */
export function snapshotDir(cacheDir: string, repo: string, commit: string): string {
  return join(cacheDir, "hub", `models--${repo.replace("/", "--")}`, "snapshots", commit);
}
