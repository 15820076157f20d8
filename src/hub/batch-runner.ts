// The batch item runner for hub sources: maps a manifest item to patchHub (Hugging Face format) or
// patchHubGguf (GGUF files, with the converter's header patcher), and returns the JSON for the item's report.
import type { BatchItem } from "../batch/manifest.ts";
import type { JsonValue, RunItem } from "../batch/run-batch.ts";
import type { PlanMethod, PlanTarget } from "../core/types.ts";
import { HubSourceError } from "./errors.ts";
import type { HubParams } from "./hub-params.ts";
import { parseHubSource } from "./parse-hub-source.ts";
import { patchHub } from "./patch-hub.ts";
import { patchHubGguf } from "./patch-hub-gguf.ts";
import type { GgufHeaderPatcher } from "./patch-hub-gguf.ts";

const NUMBER_OPTIONS = ["originalContext", "betaFast", "betaSlow", "mscale", "mscaleAllDim", "attentionFactor"] as const;

/**
 * The plan knobs of an item ("options": method, originalContext, betas, truncate, mscale..., force).
 *
 * @example
 * const target = itemPlanTarget({ id: "q", source: "org/m", factor: 4, options: { betaFast: 16 } });
 */
export function itemPlanTarget(item: BatchItem): PlanTarget {
  const o = item.options ?? {};
  const t: PlanTarget = { ...(item.factor !== undefined && { factor: item.factor }), ...(item.context !== undefined && { context: item.context }) };
  if (o.method !== undefined) t.method = String(o.method) as PlanMethod;
  for (const k of NUMBER_OPTIONS) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== "number") throw new HubSourceError(item.id, `option ${k} must be a number`);
    t[k] = o[k] as number;
  }
  if (o.truncate !== undefined) t.truncate = o.truncate === true;
  if (o.force !== undefined) t.force = o.force === true;
  if (o.allowShrink !== undefined) t.allowShrink = o.allowShrink === true;
  return t;
}

export interface HubBatchRunnerParams extends HubParams {
  cacheDir?: string;
  /** Builds GGUF items' headers; the GGUF converter's by default. */
  patchGgufHeader?: GgufHeaderPatcher;
  toolVersion?: string;
}

/**
 * runBatch's item runner for hub sources: each item is patched and published (HF repos by patchHub, GGUF files by patchHubGguf).
 *
 * @example
 * await runBatch({ items, runItem: createHubBatchRunner({ accessToken: process.env.HF_TOKEN, toolVersion: "0.1.0" }) });
 */
export function createHubBatchRunner(params: HubBatchRunnerParams): RunItem {
  return async (item, ctx): Promise<JsonValue> => {
    const source = parseHubSource(item.source);
    if (!source) throw new HubSourceError(item.source, "batch items must be hub sources (org/name[@rev][/file])");
    const hub = { ...params, abortSignal: ctx.signal };
    const publishing = { ...(item.push !== undefined && { push: item.push }), ...(item.branch !== undefined && { branch: item.branch }), ...(item.pr !== undefined && { pr: item.pr }), ...(item.private !== undefined && { private: item.private }) };
    const files = item.files ?? (source.path ? [source.path] : undefined);
    const isGguf = item.format === "gguf" || (files?.some((f) => f.endsWith(".gguf")) ?? false);
    if (isGguf) {
      const r = await patchHubGguf({ ...hub, ...itemPlanTarget(item), ...publishing, source: { repo: source.repo, ...(source.revision && { revision: source.revision }) }, files: files!, ...(params.patchGgufHeader && { patchHeader: params.patchGgufHeader }) }, (e) => {
        if (e.event === "phase") ctx.log(e.phase);
      });
      return { format: "gguf", source: source.repo, commit: r.commit, context: r.plan.context, factor: r.plan.factor, files: r.files, commitUrl: r.publish.commitUrl, commitOid: r.publish.commitOid, pullRequestUrl: r.publish.pullRequestUrl ?? null, alreadyPublished: r.publish.alreadyPublished } satisfies JsonValue;
    }
    const r = await patchHub({ ...hub, ...itemPlanTarget(item), ...publishing, source }, (e) => {
      if (e.event === "phase") ctx.log(e.phase);
      if (e.event === "patched") ctx.log(`patched ${e.changed.join(", ")}`);
    });
    return {
      format: "hf",
      source: source.repo,
      commit: r.commit,
      context: r.patch.plan.context,
      factor: r.patch.plan.factor,
      changed: r.changed,
      commitUrl: r.publish?.commitUrl ?? null,
      commitOid: r.publish?.commitOid ?? null,
      pullRequestUrl: r.publish?.pullRequestUrl ?? null,
      alreadyPublished: r.publish?.alreadyPublished ?? null,
      warnings: r.patch.warnings,
    } satisfies JsonValue;
  };
}
