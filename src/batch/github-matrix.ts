// GitHub Actions: the matrix a planning job hands to `strategy.matrix: ${{ fromJSON(...) }}`, one entry per shard
// of the manifest, so each matrix job runs `yarnify batch <manifest> --shard ${{ matrix.shard }}`.
import { ManifestError, type Shard, shardItems } from "./manifest.ts";

/** GitHub runs at most 256 jobs from one matrix (a larger matrix fails the workflow). */
export const GITHUB_MATRIX_LIMIT = 256;

export interface GithubMatrix {
  include: Array<{ shard: string }>;
}

/**
 * The matrix for `count` shards of these items. Shards with no items are left out (the split is known here, so no
 * runner is started for nothing); `empty` lists them.
 *
 * @example
 * githubMatrix(items, 3).matrix; // { include: [{ shard: "1/3" }, { shard: "2/3" }, { shard: "3/3" }] }
 */
export function githubMatrix<T extends { id: string }>(items: readonly T[], count: number): { matrix: GithubMatrix; empty: Shard[] } {
  if (!Number.isInteger(count) || count < 1 || count > GITHUB_MATRIX_LIMIT) {
    throw new ManifestError("--matrix github", `the number of shards must be a whole number from 1 to ${GITHUB_MATRIX_LIMIT} (GitHub's matrix limit), got ${count}`);
  }
  const shards = Array.from({ length: count }, (_, i): Shard => ({ index: i + 1, count }));
  const empty = shards.filter((s) => shardItems(items, s).length === 0);
  return { matrix: { include: shards.filter((s) => !empty.includes(s)).map((s) => ({ shard: `${s.index}/${s.count}` })) }, empty };
}
