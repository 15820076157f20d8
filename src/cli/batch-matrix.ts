// `yarnify batch <manifest> --matrix github N`: the job matrix a CI planning job passes to the jobs that each run
// one shard (`--shard ${{ matrix.shard }}`); printed on one line, as $GITHUB_OUTPUT wants it.
import { readFileSync } from "node:fs";
import { githubMatrix } from "../batch/github-matrix.ts";
import { ManifestError, parseManifest } from "../batch/manifest.ts";
import { type CliIo, print } from "./io.ts";
import { wholeNumber } from "./options.ts";

/**
 * Prints the matrix for the manifest's shards (empty shards left out, named on stderr) and returns the exit code.
 *
 * @example
 * await printBatchMatrix("patches.yaml", "github", ["4"], io); // {"include":[{"shard":"1/4"},...]}
 */
export async function printBatchMatrix(manifestPath: string, ci: string, more: readonly string[], io: CliIo): Promise<number> {
  if (ci !== "github") throw new ManifestError(`--matrix ${ci}`, "the matrix formats are: github");
  if (more.length !== 1) throw new ManifestError("--matrix github", "give the number of shards: yarnify batch <manifest> --matrix github N");
  const count = wholeNumber(more[0], "--matrix github")!;
  const { items } = parseManifest(readFileSync(manifestPath, "utf8"), manifestPath);
  const { matrix, empty } = githubMatrix(items, count);
  if (empty.length > 0) io.stderr(`shards with no items left out: ${empty.map((s) => `${s.index}/${s.count}`).join(", ")}\n`);
  print(io, JSON.stringify(matrix));
  return 0;
}
