// A system error met while writing an output, turned into one line that names the output and the cause in words
// (exit 4) instead of the runtime's own text ("No space left on device (os error 28)" on Deno).
import { OutputError, YarnifyError } from "../errors.ts";

/** The causes a write can meet, by errno code; other errors are not the output's fault and pass through. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EFBIG: "the file is larger than the file system (or this process's file-size limit) allows",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory (the folder cannot take new entries or went away)",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "a directory is in the way",
  ENAMETOOLONG: "the name is too long",
  EMLINK: "the folder holds too many entries",
};

/**
 * `err` as an OutputError naming `out` when it is a system error of writing (ENOSPC, EROFS, EACCES, ...); any
 * other error is returned unchanged, for the caller to throw.
 *
 * @example
 * try { writeFileSync(tmp, text); } catch (err) { throw writeFailure("out/config.json", err); }
 * // OutputError "out/config.json: cannot write: no space left on the device (ENOSPC)", exit 4
 */
export function writeFailure(out: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const cause = typeof code === "string" ? CAUSES[code] : undefined;
  if (cause === undefined || err instanceof YarnifyError) return err;
  return new OutputError(out, `cannot write: ${cause} (${code})`, { cause: err });
}
