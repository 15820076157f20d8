// What `inspect` reports of a GGUF header already read (its rope keys, frequency tensors, llama.cpp's reading): no
// I/O, so the browser describes a File or a URL's header the same way.
import type { RopeSpec } from "../../src/core/rope/types.ts";
import type { GgufHeader } from "./read.ts";
import { ggufFreqTensorRole, ggufRopeKeys, ggufRopeSpec, llamaCppRopeParams } from "./spec.ts";
import { type FreqTensor, isNeutral, ropeTensorValues } from "./freq-tensors.ts";
import type { GgufKeyValue, LlamaCppRopeParams } from "./spec.ts";

export interface GgufInspection {
  format: "gguf";
  file: string;
  architecture: string;
  spec: RopeSpec;
  /** `{arch}.rope.*` and `{arch}.context_length` as stored, with their GGUF types. */
  keys: Record<string, GgufKeyValue>;
  /** The tensors that carry frequencies (rope_freqs, rope_factors_long/short), with what they are to yarnify. */
  ropeTensors: RopeTensorSummary[];
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

/** A frequency tensor as `inspect` reports it. */
export interface RopeTensorSummary {
  name: string;
  type: "f32" | "f16";
  values: number[];
  /**
   * "neutral": all ones; "scaling": the spec's scaling (llama3, LongRoPE) or divisors the keys' scaling is combined
   * with; "unknown": divisors yarnify does not recognise under no scaling key (a patch refuses them).
   */
  role: "neutral" | "scaling" | "unknown";
}

/**
 * The inspection of a header (and its frequency tensors) already read from `location`.
 *
 * @example
 * const source = await openLocalSource("model.gguf");
 * const h = await readGgufHeader(source);
 * const info = describeGguf(h, "model.gguf", source.bytesFetched(), await readFreqTensors(source, h));
 */
export function describeGguf(h: GgufHeader, location: string, bytesFetched: number, tensors: readonly FreqTensor[] = []): GgufInspection {
  const arch = h.architecture;
  const count = h.metadata["split.count"];
  const no = h.metadata["split.no"];
  const warnings = [...h.warnings];
  const ll = llamaCppRopeParams(h.metadata, arch);
  if (ll.ignoredKeys.length > 0) warnings.push(`llama.cpp ignores ${ll.ignoredKeys.join(", ")} for ${arch}`);
  const values = ropeTensorValues(tensors);
  const role = ggufFreqTensorRole(h.metadata, arch, values);
  const ropeTensors = tensors.map((t): RopeTensorSummary => ({
    name: t.name,
    type: t.type === 0 ? "f32" : "f16",
    values: t.values,
    role: isNeutral(t.values) ? "neutral" : role === "unknown" ? "unknown" : "scaling",
  }));
  const unknown = ropeTensors.filter((t) => t.role === "unknown").map((t) => t.name);
  if (unknown.length) {
    warnings.push(`${unknown.join(", ")} holds per-pair frequency divisors that are not llama3's: llama.cpp divides every frequency by them, the RoPE summary leaves them out, and patch refuses the file`);
  }
  return {
    format: "gguf",
    file: location,
    architecture: arch,
    spec: ggufRopeSpec(h.metadata, arch, { file: h.file, tensors: values }),
    keys: ggufRopeKeys(h.metadata, arch),
    ropeTensors,
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

