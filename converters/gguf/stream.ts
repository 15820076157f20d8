// A patched GGUF as a stream: the new header, then the source's tensor data from its data offset on (frequency tensors
// replaced on the way). Nothing but web streams, so a browser saves a patched File or URL without holding it in memory.
import type { ByteSource } from "./byte-source.ts";
import { GgufError } from "./errors.ts";
import { type FreqTensor, tensorValueBytes } from "./freq-tensors.ts";
import { applyEdits } from "./range-reader.ts";
import type { GgufHeader } from "./read.ts";

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface PatchedStreamParams {
  source: ByteSource;
  /** The source's header as read from `source`. */
  header: GgufHeader;
  /** The rebuilt header (buildPatchedHeader), padding included. */
  newHeader: Uint8Array;
  /** Frequency tensors rewritten in the data (plannedEdits' `tensors`), at their offsets in the source. */
  tensors?: readonly FreqTensor[];
  abortSignal?: AbortSignal;
}

/** Bytes the patched file will have. */
export function patchedSize(p: Pick<PatchedStreamParams, "source" | "header" | "newHeader">): number {
  const size = p.source.size() ?? p.header.fileSize ?? p.header.dataOffset + p.header.dataBytesRequired;
  return p.newHeader.length + size - p.header.dataOffset;
}

/**
 * The patched file's bytes, in order; a source that ends early errors the stream (a GgufError naming it), so a caller
 * writing to a temporary file never keeps a short one.
 *
 * @example
 * const stream = patchedGgufStream({ source, header: info.header, newHeader, tensors: edits.tensors });
 * await stream.pipeTo(await handle.createWritable());
 */
export function patchedGgufStream(p: PatchedStreamParams): ReadableStream<Uint8Array> {
  const { source, header } = p;
  const end = patchedSize(p) - p.newHeader.length + header.dataOffset;
  const edits = (p.tensors ?? []).map((t) => ({ at: t.offset, bytes: tensorValueBytes(t, header.littleEndian) }));
  const range = source.openRange(header.dataOffset, end, p.abortSignal);
  let at = header.dataOffset;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(p.newHeader.slice());
    },
    async pull(controller) {
      if (at >= end) {
        await range.close();
        return controller.close();
      }
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, end - at));
      let n = 0;
      while (n < chunk.length) {
        const got = await range.readInto(chunk.subarray(n));
        if (got === 0) throw new GgufError(source.name, "data-short", `the file ended after ${at + n} of ${end} bytes`);
        n += got;
      }
      applyEdits(edits, chunk, at);
      at += n;
      controller.enqueue(chunk);
    },
    cancel: () => range.close(),
  }, { highWaterMark: 2 });
}
