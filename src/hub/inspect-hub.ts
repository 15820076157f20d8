// `yarnify inspect org/name[@rev]` and `inspect org/name-GGUF/file.gguf`: the hub model located for the local
// inspect (config files into the cache, or a GGUF header read with Range requests). `path` in the result is the
// hf:// source pinned to the commit, not the cache directory or the resolve URL.
import { inspect } from "../inspect.ts";
import type { InspectResult } from "../inspect.ts";
import type { ConverterOptions } from "../models.ts";
import { locateHubModel, type LocateHubModelParams } from "./locate-hub-model.ts";

/**
 * inspect() for a hub model: a repo's config files fetched into the cache, or a GGUF file's header read with Range
 * requests; the result's path is the hf:// source pinned to the commit. A repo's weights are not downloaded: the
 * listing's file sizes (safetensors headers included, a few KiB) size them.
 *
 * @example
 * const r = await inspectHub({ source: "Qwen/Qwen2.5-7B-Instruct" });
 * console.log(r.path, r.rope.originalContext);
 */
export async function inspectHub(params: Omit<LocateHubModelParams, "files"> & ConverterOptions): Promise<InspectResult & { commit: string }> {
  const { tensor, originalContext, timeoutMs, ...locate } = params;
  const where = await locateHubModel(locate);
  const shards = (where.listing ?? []).filter((f) => f.path.endsWith(".safetensors"));
  const weights = shards.length
    ? { bytes: shards.reduce((n, f) => n + f.size, 0), source: "safetensors" as const, note: `file sizes of ${shards.length} safetensors file${shards.length > 1 ? "s" : ""} in the hub listing` }
    : undefined;
  const result = await inspect({ model: where.model, ...(where.remote && { remote: where.remote }), tensor, originalContext, timeoutMs, ...(weights && { weights }) });
  return { ...result, path: where.label, commit: where.commit };
}
