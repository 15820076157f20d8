// `yarnify inspect` for GGUF: reads only the header (for a URL, a few Range requests).
import type { RopeSpec } from "../../src/core/rope/types.ts";
import { readGgufHeader } from "./read.ts";
import type { GgufHeader } from "./read.ts";
import { withSource } from "./source.ts";
import type { FetchLike } from "./source.ts";
import { ggufRopeKeys, ggufRopeSpec, llamaCppRopeParams } from "./spec.ts";
import type { GgufKeyValue, LlamaCppRopeParams } from "./spec.ts";

export interface InspectGgufOptions {
  fetch?: FetchLike;
  headers?: Record<string, string>;
}

export interface GgufInspection {
  format: "gguf";
  file: string;
  architecture: string;
  spec: RopeSpec;
  /** `{arch}.rope.*` and `{arch}.context_length` as stored, with their GGUF types. */
  keys: Record<string, GgufKeyValue>;
  /** What llama.cpp's loader derives from those keys. */
  llamacpp: LlamaCppRopeParams;
  version: number;
  tensorCount: number;
  /** Bytes before the tensor data (the header the patch rebuilds). */
  headerBytes: number;
  fileSize: number | undefined;
  split: { count: number; no: number } | undefined;
  /** Bytes read or downloaded to inspect. */
  bytesFetched: number;
  warnings: string[];
}

/**
 * The inspection of a header already read from `location`.
 *
 * @example
 * const source = await openLocalSource("model.gguf");
 * const info = describeGguf(await readGgufHeader(source), "model.gguf", source.bytesFetched());
 */
export function describeGguf(h: GgufHeader, location: string, bytesFetched: number): GgufInspection {
  const arch = h.architecture;
  const count = h.metadata["split.count"];
  const no = h.metadata["split.no"];
  const warnings = [...h.warnings];
  const ll = llamaCppRopeParams(h.metadata, arch);
  if (ll.ignoredKeys.length > 0) warnings.push(`llama.cpp ignores ${ll.ignoredKeys.join(", ")} for ${arch}`);
  return {
    format: "gguf",
    file: location,
    architecture: arch,
    spec: ggufRopeSpec(h.metadata, arch),
    keys: ggufRopeKeys(h.metadata, arch),
    llamacpp: ll,
    version: h.version,
    tensorCount: h.tensorInfos.length,
    headerBytes: h.dataOffset,
    fileSize: h.fileSize,
    split: count === undefined ? undefined : { count: Number(count.value), no: Number(no?.value ?? 0) },
    bytesFetched,
    warnings,
  };
}

/**
 * A GGUF's RoPE setup, its rope keys and llama.cpp's reading, from the header alone (a URL is read with Range requests).
 *
 * @example
 * const i = await inspectGguf("https://huggingface.co/org/m-GGUF/resolve/main/m-Q4_K_M.gguf");
 * console.log(i.spec.context, i.keys, i.bytesFetched);
 */
export async function inspectGguf(location: string, opts: InspectGgufOptions = {}): Promise<GgufInspection> {
  return withSource(location, opts, async (source) => describeGguf(await readGgufHeader(source), location, source.bytesFetched()));
}
