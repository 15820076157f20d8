// Writes a patched model directory: changed files from memory, every other file cloned from the source
// (reflink, else hard link, else copy), all under a temporary name renamed into place when complete.
import { constants, copyFileSync, linkSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ModelFormatError } from "../errors.ts";
import { runtimeName } from "../runtime.ts";
import { writeStagedFolder } from "./staged-folder.ts";
import { isYarnifyTemp } from "./temp-paths.ts";

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

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (isYarnifyTemp(entry.name) || entry.name === ".git") continue;
    let st: { isDirectory(): boolean; isFile(): boolean } = entry;
    if (entry.isSymbolicLink()) {
      try {
        st = statSync(full);
      } catch (err) {
        throw new ModelFormatError(full, `a symbolic link that cannot be followed (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`);
      }
    }
    if (st.isDirectory()) out.push(...listFiles(full, base));
    else if (st.isFile()) out.push(relative(base, full));
    // A FIFO would block the copy forever, a device never end: refused before anything is written.
    else throw new ModelFormatError(full, "not a regular file (a FIFO, device or socket): a model folder holds regular files only");
  }
  return out;
}

/**
 * Create `out` as a copy of `source` with `replaced` files (relative path → content) written instead.
 */
export function writeModelDir(params: { source: string; out: string; replaced: Map<string, string>; allowHardlink?: boolean; overwrite?: boolean }): WrittenFile[] {
  const { source, out, replaced } = params;
  // Listed first: a source that cannot be copied is refused before the output is claimed.
  const sourceFiles = listFiles(source);
  const written = writeStagedFolder({ out, sources: [source], overwrite: params.overwrite, fill: (tmp) => {
    const files: WrittenFile[] = [];
    for (const rel of sourceFiles) {
      if (replaced.has(rel)) continue;
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      files.push({ path: join(out, rel), how: cloneFile(join(source, rel), join(tmp, rel), params.allowHardlink ?? true) });
    }
    for (const [rel, content] of replaced) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), content);
      files.push({ path: join(out, rel), how: "written" });
    }
    return files;
  } });
  return written.sort((a, b) => a.path.localeCompare(b.path));
}
