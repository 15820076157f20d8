// Temporary outputs: named ".<name>.yarnify-<pid>-<random>.tmp" beside what they become, so a later run can tell
// one left by a killed process (its pid no longer runs) and remove it; tracked while in flight, so that a signal
// (Ctrl-C, SIGTERM, SIGHUP) removes them and leaves nothing partial behind.
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const inFlight = new Set<string>();

export function trackTemp(path: string): void {
  inFlight.add(path);
}

export function untrackTemp(path: string): void {
  inFlight.delete(path);
}

export function removeTrackedTemps(): void {
  for (const p of inFlight) rmSync(p, { recursive: true, force: true });
  inFlight.clear();
}

/**
 * A path without the trailing slashes that mark a folder.
 *
 * @example
 * withoutTrailingSlash("models/out/"); // "models/out"
 */
export function withoutTrailingSlash(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}

/**
 * A sibling name for `target`, unique to this process and call, that a later run recognises as a temporary of
 * `target` and traces back to this process.
 *
 * @example
 * tempSibling("/models/x.gguf"); // "/models/.x.gguf.yarnify-4242-9f3a1c2e.tmp"
 */
export function tempSibling(target: string): string {
  const t = withoutTrailingSlash(target);
  return join(dirname(t), `.${basename(t)}.yarnify-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.yarnify-(\d+)-[0-9a-f]+\.tmp$/;
const LOCK_NAME = /^\..+\.yarnify-lock$/;

/**
 * Whether a file name is one of yarnify's temporaries or output locks (never part of a model).
 *
 * @example
 * isYarnifyTemp(".x.gguf.yarnify-4242-9f3a1c2e.tmp"); // true
 * isYarnifyTemp("config.json"); // false
 */
export function isYarnifyTemp(name: string): boolean {
  return TEMP_NAME.test(name) || LOCK_NAME.test(name);
}

/**
 * Whether a process with this id runs on this machine (one we may not signal runs too).
 *
 * @example
 * processAlive(process.pid); // true
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A temporary (or lock) left by a process that no longer runs. */
export interface StaleTemp {
  path: string;
  pid: number;
}

let reportStale: ((stale: StaleTemp) => void) | undefined;

/**
 * Who hears about stale temporaries as they are removed: the CLI prints one line for each; a library caller may
 * set its own (nobody by default).
 *
 * @example
 * onStaleTemp((t) => console.error(`removed ${t.path}, left by process ${t.pid}`));
 */
export function onStaleTemp(report: ((stale: StaleTemp) => void) | undefined): void {
  reportStale = report;
}

/**
 * Tells whoever listens (onStaleTemp) that `stale` was removed.
 *
 * @example
 * staleRemoved({ path: "/models/.x.gguf.yarnify-lock", pid: 4242 });
 */
export function staleRemoved(stale: StaleTemp): void {
  reportStale?.(stale);
}

/**
 * Removes the temporaries of `target` that processes no longer running left beside it (a run killed with SIGKILL
 * cannot clean up after itself); returns them. Those of a running process are left alone.
 *
 * @example
 * const removed = removeStaleTemps("/models/x.gguf"); // [{ path: "/models/.x.gguf.yarnify-4242-9f3a1c2e.tmp", pid: 4242 }]
 */
export function removeStaleTemps(target: string): StaleTemp[] {
  const t = withoutTrailingSlash(target);
  const dir = dirname(t);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no folder, no temporaries
  }
  const stale: StaleTemp[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== basename(t) || processAlive(Number(m[2]))) continue;
    const s = { path: join(dir, name), pid: Number(m[2]) };
    rmSync(s.path, { recursive: true, force: true });
    staleRemoved(s);
    stale.push(s);
  }
  return stale;
}
