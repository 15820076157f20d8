// The batch item runner for local sources: a manifest item whose source is a path on this machine is patched as
// `yarnify patch <source> --out <out>` does, and with `push` published as `patch ./model --push <repo>` does.
import { existsSync, mkdirSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { YarnifyError } from "../core/errors.ts";
import { itemPlanTarget } from "../hub/batch-runner.ts";
import type { HubParams } from "../hub/hub-params.ts";
import { parseHubSource } from "../hub/parse-hub-source.ts";
import { publishLocal } from "../hub/publish-local.ts";
import { patch } from "../patch.ts";
import type { BatchItem } from "./manifest.ts";
import type { JsonValue, RunItem } from "./run-batch.ts";

export interface LocalBatchRunnerParams extends HubParams {
  /** Relative `source` and `out` paths are taken from here (the CLI passes the manifest's folder). */
  baseDir?: string;
  toolVersion?: string;
}

/**
 * A manifest path as this machine reads it: relative paths are relative to `baseDir`.
 *
 * @example
 * itemPath("./models/a", "/data"); // "/data/models/a"
 */
export function itemPath(path: string, baseDir: string | undefined): string {
  return baseDir === undefined || isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Whether an item is patched here rather than on the hub: it names an output (`out`), its source is plainly a
 * path (./m, /data/m), or its source exists on this machine (as `yarnify patch` decides for its argument).
 *
 * @example
 * isLocalItem({ id: "a", source: "./models/a", factor: 4 }, "/work"); // true
 * isLocalItem({ id: "b", source: "org/b", factor: 4 }, "/work");      // false unless /work/org/b exists
 */
export function isLocalItem(item: BatchItem, baseDir?: string): boolean {
  return item.out !== undefined || parseHubSource(item.source) === undefined || existsSync(itemPath(item.source, baseDir));
}

/**
 * Runs local items: patch to `out` (the source untouched), then, with `push`, publish every output file in one
 * commit with a model card (`options.baseModel` names the original on the hub for the card).
 *
 * @example
 * const runItem = createLocalBatchRunner({ baseDir: "/data", accessToken: process.env.HF_TOKEN });
 * await runBatch({ items: parseManifest(text).items, runItem });
 */
export function createLocalBatchRunner(params: LocalBatchRunnerParams): RunItem {
  const { baseDir, toolVersion, ...hub } = params;
  return async (item, ctx): Promise<JsonValue> => {
    const source = itemPath(item.source, baseDir);
    if (!existsSync(source)) {
      const problem = parseHubSource(item.source) ? `no such file or directory here ("out" is for local sources; a hub source publishes with "push" or "pr")` : "no such file or directory";
      throw new YarnifyError(item.source, problem);
    }
    if (item.pr) throw new YarnifyError(item.source, '"pr" opens a pull request on a hub source; publish a local model with "push"');
    if (item.branch !== undefined && item.push === undefined) throw new YarnifyError(item.source, '"branch" needs "push" for a local model');
    if (item.files !== undefined) throw new YarnifyError(item.source, '"files" picks files of a hub repo; name the local file as the source');
    const out = item.out === undefined ? undefined : itemPath(item.out, baseDir);
    // A manifest names outputs in folders of its own (./out/a-8k); `patch` wants the parent to exist.
    if (out !== undefined) mkdirSync(dirname(out), { recursive: true });
    const r = await patch({ model: source, ...(out !== undefined && { out }), abortSignal: ctx.signal, ...itemPlanTarget(item) }, (e) => {
      if (e.event === "phase") ctx.log(`${e.phase} ${e.file}`);
    });
    ctx.log(`patched ${r.out}`);
    const baseModel = item.options?.baseModel;
    const published = item.push === undefined
      ? undefined
      : await publishLocal({
          ...hub,
          abortSignal: ctx.signal,
          path: r.out,
          format: r.format,
          plan: r.plan,
          repo: item.push,
          ...(item.branch !== undefined && { branch: item.branch }),
          ...(item.private !== undefined && { private: item.private }),
          baseModel: typeof baseModel === "string" ? baseModel : basename(source),
          ...(toolVersion !== undefined && { toolVersion }),
        }, (e) => {
          if (e.event === "phase") ctx.log(e.phase);
        });
    return {
      format: r.format,
      source: r.source,
      out: r.out,
      context: r.plan.context,
      factor: r.plan.factor,
      written: r.files.filter((f) => f.how === "written").map((f) => f.path),
      commitUrl: published?.commitUrl ?? null,
      commitOid: published?.commitOid ?? null,
      warnings: r.warnings,
    } satisfies JsonValue;
  };
}
