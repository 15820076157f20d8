// The exclusive claim on an output name, taken before a byte is written: the output is not the source, inside it
// or around it (judged on real paths, so a symbolic link cannot lead into the source); its parent folder exists; no
// other yarnify process writes it (a lock file beside it, created only where there is none; one left by a process
// that no longer runs is taken over); the temporaries a killed run left for it are removed.
import { linkSync, lstatSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { OutputError } from "../errors.ts";
import { processAlive, removeStaleTemps, staleRemoved, tempSibling, trackTemp, untrackTemp, withoutTrailingSlash } from "./temp-paths.ts";
import { writeFailure } from "./write-failure.ts";

export interface ClaimParams {
  /** The output file or folder, as the user named it. */
  out: string;
  /** Local source files or folders the output must keep clear of. */
  sources: readonly string[];
  /** Whether an existing output may be replaced (default false: it is refused); moveIntoPlace then replaces it. */
  overwrite?: boolean;
}

export interface OutputClaim {
  /** Gives the name up (removes the lock): once the output is in place, or abandoned. */
  release(): void;
}

/**
 * Claims `out` for this process, or throws an OutputError (exit 4) saying why it cannot be written. Hold the claim
 * while writing under a temporary name, rename into place, then release it.
 *
 * @example
 * const claim = claimOutput({ out: "./model-yarn", sources: ["./model"] });
 * try { writeUnderTempNameAndRename(); } finally { claim.release(); }
 */
export function claimOutput(p: ClaimParams): OutputClaim {
  const out = withoutTrailingSlash(p.out);
  const real = realTarget(out);
  for (const s of p.sources) {
    const realSource = realPathOf(s);
    // A source that is not there cannot be harmed; reading it fails with its own error.
    if (realSource !== undefined) confine(out, real, realSource, s);
  }
  const lock = join(dirname(out), `.${basename(out)}.yarnify-lock`);
  takeLock(out, lock);
  const release = () => {
    untrackTemp(lock);
    rmSync(lock, { force: true });
  };
  try {
    removeStaleTemps(out);
    if (!p.overwrite && exists(out)) throw new OutputError(out, "output path exists; choose another --out, or --overwrite to replace it");
  } catch (err) {
    release();
    throw writeFailure(out, err);
  }
  return { release };
}

/**
 * Moves a complete temporary output into place while holding its claim. Whatever is at `out` (claimOutput let an
 * `overwrite` through) is replaced: a file by the rename itself, a folder moved aside first and removed only once the
 * new output stands there, so a failure leaves the old one.
 *
 * @example
 * const claim = claimOutput({ out, sources: [source], overwrite: true });
 * try { const tmp = tempSibling(out); writeAll(tmp); moveIntoPlace(tmp, out); } finally { claim.release(); }
 */
export function moveIntoPlace(tmp: string, out: string): void {
  // A file renamed over a file replaces it in one step; a folder (or a file over a folder) needs the old moved aside.
  const old = exists(out) && (lstatSync(out).isDirectory() || lstatSync(tmp).isDirectory()) ? tempSibling(out) : undefined;
  if (!old) return renameSync(tmp, out);
  renameSync(out, old);
  try {
    renameSync(tmp, out);
  } catch (err) {
    renameSync(old, out);
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}

/** Where `out` really lands: its parent's real path (which must be a folder) and its name, or its own real path. */
function realTarget(out: string): string {
  const parent = dirname(resolve(out));
  let realParent: string;
  try {
    realParent = realpathSync(parent);
  } catch {
    throw new OutputError(out, `parent directory ${parent} does not exist`);
  }
  if (!statSync(realParent).isDirectory()) throw new OutputError(out, `${parent} is not a directory`);
  return realPathOf(out) ?? join(realParent, basename(out));
}

function realPathOf(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

const within = (path: string, dir: string) => path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

function confine(out: string, real: string, realSource: string, source: string): void {
  if (real === realSource) throw new OutputError(out, `the output is the source ${source}; the source is never modified`);
  if (within(real, realSource)) throw new OutputError(out, `the output would be inside the source ${source}`);
  if (within(realSource, real)) throw new OutputError(out, `the output would contain the source ${source}`);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

interface Holder {
  text: string;
  /** The holder's pid, when the lock says it and it is on this machine. */
  pid?: number;
  alive: boolean;
}

/** Who holds `lock`: undefined when it is gone; a lock not (yet) readable, or from another machine, counts as alive. */
function readHolder(lock: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(lock, "utf8");
  } catch {
    return undefined;
  }
  const m = /^(\d+) (\S+)\n$/.exec(text);
  if (!m || m[2] !== hostname()) return { text, alive: true };
  const pid = Number(m[1]);
  return { text, pid, alive: processAlive(pid) };
}

/** Creates the lock, never replacing one; a lock whose process no longer runs is taken over. */
function takeLock(out: string, lock: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lock, `${process.pid} ${hostname()}\n`, { flag: "wx" });
      trackTemp(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw writeFailure(out, err);
    }
    const holder = readHolder(lock);
    if (holder?.alive) {
      const who = holder.pid === undefined ? "another yarnify process" : `another yarnify process (pid ${holder.pid})`;
      throw new OutputError(out, `${who} is writing it (lock ${lock}; remove that file if no yarnify is running)`);
    }
    if (holder) reclaim(lock, holder);
  }
  throw new OutputError(out, `cannot take the lock ${lock}: other processes keep taking it`);
}

/**
 * Moves a dead process's lock aside and removes it. Moving is atomic, so when another process took the lock over in
 * between, what was moved is its lock: that one is put back (never replacing a newer one).
 */
function reclaim(lock: string, holder: Holder): void {
  const aside = tempSibling(lock);
  try {
    renameSync(lock, aside);
  } catch {
    return; // gone meanwhile
  }
  if (readFileSync(aside, "utf8") === holder.text) staleRemoved({ path: lock, pid: holder.pid! });
  else {
    try {
      linkSync(aside, lock);
    } catch {
      // a newer lock is in place: it stands
    }
  }
  rmSync(aside, { force: true });
}
