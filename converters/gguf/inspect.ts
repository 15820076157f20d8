// `yarnify inspect` for GGUF: reads only the header (for a URL, a few Range requests).
import { readGgufHeader } from "./read.ts";
import { withSource } from "./source.ts";
import type { FetchLike } from "./byte-source.ts";
import { readFreqTensors } from "./freq-tensors.ts";
import { describeGguf, type GgufInspection } from "./describe.ts";

export { describeGguf } from "./describe.ts";
export type { GgufInspection, RopeTensorSummary } from "./describe.ts";

export interface InspectGgufOptions {
  fetch?: FetchLike;
  headers?: Record<string, string>;
}

/**
 * A GGUF's RoPE setup, its rope keys and llama.cpp's reading, from the header alone (a URL is read with Range requests).
 *
 * @example
 * const i = await inspectGguf("https://huggingface.co/org/m-GGUF/resolve/main/m-Q4_K_M.gguf");
 * console.log(i.spec.context, i.keys, i.bytesFetched);
 */
export async function inspectGguf(location: string, opts: InspectGgufOptions = {}): Promise<GgufInspection> {
  return withSource(location, opts, async (source) => {
    const h = await readGgufHeader(source);
    const tensors = await readFreqTensors(source, h);
    return describeGguf(h, location, source.bytesFetched(), tensors);
  });
}
