// A GGUF's ModelInfo (what inspect, patch and validate read) from a byte source: the header, its frequency tensors and
// what they say. No I/O beyond the source, so a browser reads a File or a URL the way the CLI reads a path.
import type { ModelInfo } from "../../src/core/converter.ts";
import type { ByteSource } from "./byte-source.ts";
import { describeGguf } from "./describe.ts";
import { type FreqTensor, readFreqTensors, ropeTensorValues } from "./freq-tensors.ts";
import { ggufLayerLayout, ggufWeightsSize } from "./layout.ts";
import { type GgufHeader, readGgufHeader } from "./read.ts";
import { ggufStoredRope } from "./spec.ts";

/** What read() returns: ModelInfo plus the parsed header and frequency tensors, so patch() need not read them again. */
export interface GgufModelInfo extends ModelInfo {
  format: "gguf";
  header: GgufHeader;
  freqTensors: FreqTensor[];
}

/**
 * Reads the header of `source` (named `path` in reports) and describes it; `others` are the headers of a split
 * model's other shards, whose tensors count in the weights' size.
 *
 * @example
 * const info = await readGgufModelInfo(openBytesSource(file, file.name), file.name);
 * console.log(info.spec.context, info.details?.headerBytes);
 */
export async function readGgufModelInfo(source: ByteSource, path: string, others: readonly GgufHeader[] = []): Promise<GgufModelInfo> {
  const h = await readGgufHeader(source);
  const freqTensors = await readFreqTensors(source, h);
  const i = describeGguf(h, path, source.bytesFetched(), freqTensors);
  const { keys, ropeTensors, llamacpp, version, tensorCount, headerBytes, fileSize, split, bytesFetched } = i;
  const layout = ggufLayerLayout(h.metadata, h.architecture);
  return {
    format: "gguf",
    path,
    architecture: i.architecture,
    spec: i.spec,
    stored: ggufStoredRope(h.metadata, h.architecture, { file: h.file, tensors: ropeTensorValues(freqTensors) }),
    warnings: i.warnings,
    details: { keys, ...(ropeTensors.length && { ropeTensors }), llamacpp, version, tensorCount, headerBytes, fileSize, split, bytesFetched },
    header: h,
    freqTensors,
    ...(layout && { layout }),
    weights: ggufWeightsSize([h, ...others]),
  };
}
