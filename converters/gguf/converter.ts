// The GGUF format adapter behind `yarnify inspect/patch` (the Converter contract of src/core/converter.ts).
import { drain } from "../../src/core/drain.ts";
import { basename, dirname, join } from "node:path";
import { parseGgufShardFilename } from "@huggingface/gguf";
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import type { Converter, ModelInfo, OutputFile, PatchOutput } from "../../src/core/converter.ts";
import { unifiedDiff } from "../../src/core/diff.ts";
import type { Plan } from "../../src/core/types.ts";
import type { PatchGgufEvent } from "./events.ts";
import { describeGguf } from "./inspect.ts";
import { withEntries } from "./keys.ts";
import { isDirTarget, patchGgufIter, plannedKeys } from "./patch.ts";
import type { PatchedFile } from "./patch.ts";
import { isGgufPath } from "./detect.ts";
import { readGgufHeader } from "./read.ts";
import type { GgufHeader } from "./read.ts";
import { isUrl, withSource } from "./source.ts";
import type { FetchLike } from "./source.ts";
import { ggufRopeKeys, ggufStoredRope } from "./spec.ts";
import { locationBasename, shardLocations, shardOutputs } from "./split.ts";

/** What read() returns: ModelInfo plus the parsed header, so patch() need not parse the file again. */
export interface GgufModelInfo extends ModelInfo {
  format: "gguf";
  header: GgufHeader;
}

/** The options a caller may add to Converter.patch for GGUF (progress bar, cancel, remote sources). */
export interface GgufPatchExtras {
  verify?: boolean;
  overwrite?: boolean;
  onProgress?: (e: PatchGgufEvent) => void;
  abortSignal?: AbortSignal;
  fetch?: FetchLike;
}

const KEY_TEXT = (meta: GGUFTypedMetadata, arch: string) =>
  Object.entries(ggufRopeKeys(meta, arch))
    .map(([k, v]) => `${k} = ${JSON.stringify(v.value)} (${v.type})\n`)
    .join("");

const HOW: Record<PatchedFile["action"], OutputFile["how"]> = { patched: "written", reflinked: "reflink", hardlinked: "hardlink", copied: "copy" };

export const ggufConverter: Converter = {
  format: "gguf",
  accepts: isGgufPath,
  async read(path, remote): Promise<GgufModelInfo> {
    return withSource(path, remote ?? {}, async (source) => {
      const h = await readGgufHeader(source);
      const i = describeGguf(h, path, source.bytesFetched());
      const { keys, llamacpp, version, tensorCount, headerBytes, fileSize, split, bytesFetched } = i;
      return {
        format: "gguf",
        path,
        architecture: i.architecture,
        spec: i.spec,
        stored: ggufStoredRope(h.metadata, h.architecture),
        warnings: i.warnings,
        details: { keys, llamacpp, version, tensorCount, headerBytes, fileSize, split, bytesFetched },
        header: h,
      };
    });
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
    const fetchOpts = params.fetch ? { fetch: params.fetch } : {};
    // The header read() parsed is reused: the patch parses the source once.
    const header = "header" in info ? (info as GgufModelInfo).header : await withSource(info.path, fetchOpts, readGgufHeader);
    const planned = plannedKeys(header, plan);
    const after = withEntries(header.metadata, planned.entries);
    const name = locationBasename(info.path);
    const diff = unifiedDiff(KEY_TEXT(header.metadata, header.architecture), KEY_TEXT(after, header.architecture), `a/${name}`, `b/${name}`);
    const stored = ggufStoredRope(after, header.architecture);
    if (dryRun) {
      const outs = shardOutputs(shardLocations(info.path), out, await isDirTarget(out)) ?? [out];
      // Shards after the first are carried over unchanged (reflink or hard link where possible).
      const files = outs.map((path, i) => ({ path, how: i === 0 ? ("written" as const) : ("hardlink" as const) }));
      return { out, files, diff, stored, warnings: planned.warnings };
    }
    const r = await drain(patchGgufIter({
      source: info.path,
      header,
      plan,
      out,
      ...(params.verify !== undefined ? { verify: params.verify } : {}),
      ...(params.overwrite !== undefined ? { overwrite: params.overwrite } : {}),
      ...(params.abortSignal ? { abortSignal: params.abortSignal } : {}),
      ...(params.fetch ? { fetch: params.fetch } : {}),
    }), params.onProgress);
    return { out, files: r.files.map((f) => ({ path: f.out, how: HOW[f.action] })), diff, stored, warnings: r.warnings };
  },
};
