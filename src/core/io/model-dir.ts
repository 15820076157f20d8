// Writes a patched model directory: changed files from memory, every other file cloned from the source
// (reflink, else hard link, else copy), all under a temporary name renamed into place when complete.
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { OutputError } from "../errors.ts";
import { runtimeName } from "../runtime.ts";
import { tempSibling, trackTemp, untrackTemp } from "./temp-paths.ts";

export type LinkMode = "reflink" | "hardlink" | "copy";

export interface WrittenFile {
  path: string;
  how: "written" | LinkMode;
}

/**
 * Places `dst` as `src`'s bytes without copying them, where the runtime and the file system allow it: a reflink
 * (blocks shared copy-on-write) where the runtime honours COPYFILE_FICLONE_FORCE, else a hard link (the same inode);
 * undefined when neither can be had (the caller copies). Deno's node:fs ignores the clone flag and copies every
 * byte in full, so there it is never asked for: what is reported is what was done.
 *
 * @example
 * const how = linkClone("model/model.safetensors", "out/model.safetensors") ?? (copyFileSync(src, dst), "copy");
 */
export function linkClone(src: string, dst: string, allowHardlink = true): "reflink" | "hardlink" | undefined {
  const real = realpathSync(src);
  if (runtimeName() !== "deno") {
    try {
      copyFileSync(real, dst, constants.COPYFILE_FICLONE_FORCE | constants.COPYFILE_EXCL);
      return "reflink";
    } catch {
      // not supported by this file system; fall through
    }
  }
  if (allowHardlink) {
    try {
      linkSync(real, dst);
      return "hardlink";
    } catch {
      // cross-device or not permitted; fall through
    }
  }
  return undefined;
}

/**
 * Clone one file the cheapest safe way: linkClone, else a copy; returns how.
 *
 * @example
 * cloneFile("model/tokenizer.json", "out/tokenizer.json"); // "reflink", "hardlink" or "copy"
 */
export function cloneFile(src: string, dst: string, allowHardlink = true): LinkMode {
  const linked = linkClone(src, dst, allowHardlink);
  if (linked) return linked;
  copyFileSync(realpathSync(src), dst);
  return "copy";
}

/**
 * Refuse an output that exists (unless `overwrite`, and never the source or a folder holding it) or whose parent
 * cannot be written, before any work is done.
 *
 * @example
 * checkOutputPath("./qwen-128k", "./qwen", false); // OutputError (exit 4) if ./qwen-128k exists
 */
export function checkOutputPath(out: string, source?: string, overwrite = false): void {
  if (existsSync(out)) {
    if (!overwrite) throw new OutputError(out, "output path exists; choose another --out, or --overwrite to replace it");
    if (source && (resolve(out) === resolve(source) || resolve(source).startsWith(resolve(out) + sep))) {
      throw new OutputError(out, "--overwrite would replace the source model itself");
    }
  }
  const parent = dirname(resolve(out));
  if (!existsSync(parent)) throw new OutputError(out, `parent directory ${parent} does not exist`);
  if (!statSync(parent).isDirectory()) throw new OutputError(out, `${parent} is not a directory`);
  if (source && resolve(out).startsWith(resolve(source) + "/")) throw new OutputError(out, "output cannot be inside the source model");
}

/**
 * Moves a complete temporary output into place. Whatever is at `out` (checkOutputPath let `--overwrite` through) is
 * moved aside first and removed only once the new output stands there, so a failure leaves the old one.
 *
 * @example
 * checkOutputPath(out, source, overwrite);
 * const tmp = tempSibling(out); // … written in full …
 * moveIntoPlace(tmp, out);
 */
export function moveIntoPlace(tmp: string, out: string): void {
  if (!existsSync(out)) return renameSync(tmp, out);
  const old = tempSibling(out);
  renameSync(out, old);
  try {
    renameSync(tmp, out);
  } catch (err) {
    renameSync(old, out);
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.name.startsWith(".yarnify-tmp") || entry.name === ".git") continue;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(full).isDirectory());
    if (isDir) out.push(...listFiles(full, base));
    else out.push(relative(base, full));
  }
  return out;
}

/**
 * Create `out` as a copy of `source` with `replaced` files (relative path → content) written instead.
 */
export function writeModelDir(params: { source: string; out: string; replaced: Map<string, string>; allowHardlink?: boolean; overwrite?: boolean }): WrittenFile[] {
  const { source, out, replaced } = params;
  checkOutputPath(out, source, params.overwrite);
  const tmp = tempSibling(out);
  trackTemp(tmp);
  const written: WrittenFile[] = [];
  try {
    mkdirSync(tmp);
    for (const rel of listFiles(source)) {
      if (replaced.has(rel)) continue;
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      written.push({ path: join(out, rel), how: cloneFile(join(source, rel), join(tmp, rel), params.allowHardlink ?? true) });
    }
    for (const [rel, content] of replaced) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), content);
      written.push({ path: join(out, rel), how: "written" });
    }
    moveIntoPlace(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof OutputError) throw err;
    throw new OutputError(out, `cannot write: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    untrackTemp(tmp);
  }
  return written.sort((a, b) => a.path.localeCompare(b.path));
}
