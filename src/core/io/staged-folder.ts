// Writes an output folder the one safe way: claimed first, built under a temporary sibling name, renamed into place
// only when complete, and removed (nothing left) when anything fails.
import { mkdirSync, rmSync } from "node:fs";
import { claimOutput, moveIntoPlace } from "./output-claim.ts";
import { tempSibling, trackTemp, untrackTemp } from "./temp-paths.ts";
import { writeFailure } from "./write-failure.ts";

export interface StagedFolderParams<T> {
  /** The folder to create. */
  out: string;
  /** The folders read from: an `out` that is, holds or lies inside one is refused (exit 4). */
  sources: string[];
  /** Replace an existing `out` (moved aside, removed once the new one stands). */
  overwrite?: boolean;
  /** Writes the folder's contents into `dir` (the temporary folder, already created); its result is returned. */
  fill: (dir: string) => T;
}

/**
 * Creates the folder `out` with what `fill` writes: `out` is claimed first (an OutputError, exit 4, when it cannot be
 * written), filled under a temporary name, and renamed into place when `fill` returns; when anything fails the
 * temporary folder is removed and the error is reported as a write failure naming `out`.
 *
 * @example
 * const files = writeStagedFolder({ out: "./model-yarn", sources: ["./model"], fill: (dir) => {
 *   writeFileSync(join(dir, "config.json"), text);
 *   return [join("./model-yarn", "config.json")];
 * } });
 */
export function writeStagedFolder<T>(params: StagedFolderParams<T>): T {
  const { out, sources, overwrite } = params;
  const claim = claimOutput({ out, sources, overwrite });
  const tmp = tempSibling(out);
  trackTemp(tmp);
  try {
    mkdirSync(tmp);
    const result = params.fill(tmp);
    moveIntoPlace(tmp, out);
    return result;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw writeFailure(out, err);
  } finally {
    untrackTemp(tmp);
    claim.release();
  }
}
