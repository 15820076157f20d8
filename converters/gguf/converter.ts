// The GGUF format adapter behind `yarnify inspect/patch` (the Converter contract of src/core/converter.ts).
import { drain } from "../../src/core/drain.ts";
import { basename, dirname, join } from "node:path";
import { parseGgufShardFilename } from "@huggingface/gguf";
import type { Converter, ModelInfo, OutputFile, PatchOutput } from "../../src/core/converter.ts";
import type { Plan } from "../../src/core/types.ts";
import type { PatchGgufEvent } from "./events.ts";
import { type GgufModelInfo, readGgufModelInfo } from "./model-info.ts";
import { isDirTarget, patchGgufIter } from "./patch.ts";
import { readFreqTensors } from "./freq-tensors.ts";
import { applyPlan } from "./apply-plan.ts";
import type { PatchedFile } from "./patch.ts";
import { isGgufPath } from "./detect.ts";
import { readGgufHeader } from "./read.ts";
import { isUrl, withSource } from "./source.ts";
import type { FetchLike } from "./source.ts";
import { locationBasename, shardLocations, shardOutputs } from "./split.ts";

/** The options a caller may add to Converter.patch for GGUF (progress bar, cancel, remote sources). */
export interface GgufPatchExtras {
  verify?: boolean;
  overwrite?: boolean;
  onProgress?: (e: PatchGgufEvent) => void;
  abortSignal?: AbortSignal;
  fetch?: FetchLike;
}

const HOW: Record<PatchedFile["action"], OutputFile["how"]> = { patched: "written", reflinked: "reflink", hardlinked: "hardlink", copied: "copy" };

/** Options of the GGUF converter: how long a remote source may stall (RemoteSourceOptions.timeoutMs). */
export interface GgufConverterOptions {
  timeoutMs?: number;
}

/**
 * A GGUF converter; `timeoutMs` bounds how long a remote (http(s)) source may go without sending anything.
 *
 * @example
 * const gguf = createGgufConverter({ timeoutMs: 5000 });
 * const info = await gguf.read("https://example.com/model.gguf");
 */
export function createGgufConverter(opts: GgufConverterOptions = {}): Converter {
  const remote = opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {};
  return {
    format: "gguf",
    accepts: isGgufPath,
    async read(path, access): Promise<GgufModelInfo> {
      // A URL is read with the caller's headers and fetch (the hub's), and this converter's timeout.
      const reach = { ...remote, ...access };
      // The weights of a split model are in every shard: their headers (tensor infos only matter) are read too.
      const others = await Promise.all(shardLocations(path).filter((s) => s !== path).map((s) => withSource(s, reach, readGgufHeader)));
      return withSource(path, reach, (source) => readGgufModelInfo(source, path, others));
    },
    defaultOut(path, plan: Plan) {
      const name = locationBasename(path);
      const dir = isUrl(path) ? "." : dirname(path);
      const shard = parseGgufShardFilename(name);
      if (shard) return join(dir, `${shard.prefix}-yarn-${plan.context}`) + "/";
      return join(dir, `${basename(name, ".gguf")}-yarn-${plan.context}.gguf`);
    },
    async patch(params: { info: ModelInfo; plan: Plan; out: string; dryRun: boolean } & GgufPatchExtras): Promise<PatchOutput> {
      const { info, plan, out, dryRun } = params;
      const fetchOpts = { ...remote, ...(params.fetch ? { fetch: params.fetch } : {}) };
      // The header and tensors read() parsed are reused: the patch parses the source once.
      const { header, freqTensors } = "header" in info
        ? (info as GgufModelInfo)
        : await withSource(info.path, fetchOpts, async (source) => {
          const h = await readGgufHeader(source);
          return { header: h, freqTensors: await readFreqTensors(source, h) };
        });
      const { planned, diff, stored, layout } = applyPlan(header, freqTensors, plan, locationBasename(info.path));
      if (dryRun) {
        const outs = shardOutputs(shardLocations(info.path), out, await isDirTarget(out)) ?? [out];
        // Shards after the first are carried over unchanged (reflink or hard link where possible).
        const files = outs.map((path, i) => ({ path, how: i === 0 ? ("written" as const) : ("hardlink" as const) }));
        return { out, files, diff, stored, ...(layout && { layout }), warnings: planned.warnings };
      }
      const r = await drain(patchGgufIter({
        source: info.path,
        header,
        freqTensors,
        plan,
        out,
        ...(params.verify !== undefined ? { verify: params.verify } : {}),
        ...(params.overwrite !== undefined ? { overwrite: params.overwrite } : {}),
        ...(params.abortSignal ? { abortSignal: params.abortSignal } : {}),
        ...fetchOpts,
      }), params.onProgress);
      return { out, files: r.files.map((f) => ({ path: f.out, how: HOW[f.action] })), diff, stored, ...(layout && { layout }), warnings: r.warnings };
    },
  };
}

export const ggufConverter: Converter = createGgufConverter();
