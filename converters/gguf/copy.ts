// Streams a byte range into a file with two large buffers: the next read runs while the previous
// chunk is written, so a copy runs at the speed of the slower side with bounded memory.
import type { FileHandle } from "node:fs/promises";
import type { RangeReader } from "./source.ts";

export const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

export interface CopyParams {
  reader: RangeReader;
  out: FileHandle;
  /** Where the first byte goes in `out`. */
  outOffset: number;
  /** Bytes to copy; fewer available is an error reported through `onShort`. */
  length: number;
  bufferBytes?: number;
  signal?: AbortSignal;
  /** Sees every chunk before its buffer is reused (hashing). */
  onChunk?: (chunk: Uint8Array) => void;
  /** Called after each write with the bytes copied so far. */
  onProgress?: (copied: number) => void;
  onShort: (copied: number) => Error;
}

export async function copyRange(p: CopyParams): Promise<void> {
  const size = Math.max(1, Math.min(p.bufferBytes ?? DEFAULT_BUFFER_BYTES, p.length));
  const buffers = [new Uint8Array(size), new Uint8Array(size)];
  let copied = 0;
  let which = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const readNext = (buf: Uint8Array, offset: number) => p.reader.readInto(buf.subarray(0, Math.min(buf.length, p.length - offset)));
  let reading = p.length > 0 ? readNext(buffers[0], 0) : Promise.resolve(0);
  try {
    while (copied < p.length) {
      const n = await reading;
      // The other buffer is free once its write is done; start filling it before writing this one.
      await writing;
      if (n === 0) throw p.onShort(copied);
      p.signal?.throwIfAborted();
      const chunk = buffers[which].subarray(0, n);
      const next = copied + n;
      if (next < p.length) reading = readNext(buffers[1 - which], next);
      p.onChunk?.(chunk);
      writing = writeAll(p.out, chunk, p.outOffset + copied).then(() => p.onProgress?.(next));
      copied = next;
      which = 1 - which;
    }
    await writing;
  } catch (err) {
    // Never leave a read or write running on handles the caller is about to close.
    await Promise.allSettled([reading, writing]);
    throw err;
  }
}

async function writeAll(out: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await out.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}
