// Streams a byte range into a file with large buffers and bounded memory. One lane (a remote source, or
// when chunks must be seen in order): two buffers, the next read runs while the previous chunk is written.
// Several lanes (a local file): each takes the next chunk, reads it and writes it at its place, so
// several reads and writes are in flight at once; on Linux page-cache copies this is what brings a
// user-space copy near `cp`'s in-kernel copy_file_range.
import type { FileHandle } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { applyEdits, type CopyEdit, type RangeReader, readFully } from "./range-reader.ts";


/** Size of each buffer of an in-order copy (a remote source) or hash. */
export const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;
/**
 * A lane's chunk: small enough that the chunk read, written and read back is still in the CPU caches. Copying 0.5 and
 * 2 GiB in the page cache (2 cores), 2 MiB chunks took 0.5-0.8x the time of 8 and 16 MiB ones on Node, Bun and Deno;
 * 1 MiB was no faster.
 */
export const LANE_CHUNK_BYTES = 2 * 1024 * 1024;
/**
 * Chunks in flight when copying local files. On 2 cores 2 to 8 lanes copied alike with 4 I/O threads, and 8 lanes on 8
 * threads took about 1.2x as long as 4 when verifying (more chunks in flight than the caches hold). On 16 cores
 * (bench/gguf.ts --lanes 4,8,16, 2 GiB, verified, three runs) 4, 8 and 16 lanes were within 5% on Node (its pool
 * sized to match) and 4 lanes 0.95x the time of 8 on Deno. On Node each needs a thread of libuv's pool: the CLI's
 * launcher (bin/yarnify.cjs) gives the pool a thread per core; a library caller on a large machine sets
 * UV_THREADPOOL_SIZE before Node starts.
 */
export const LOCAL_LANES = Math.min(8, Math.max(4, Math.floor(availableParallelism() / 2)));

export interface CopyParams {
  /** A reader over [from, to) of the bytes to copy (offsets relative to the copy's start). */
  openReader: (from: number, to: number) => RangeReader;
  out: FileHandle;
  /** Where the first byte goes in `out`. */
  outOffset: number;
  /** Bytes to copy; fewer available is an error reported through `onShort`. */
  length: number;
  /** Bytes of each buffer (default LANE_CHUNK_BYTES with lanes, DEFAULT_BUFFER_BYTES in order). */
  bufferBytes?: number;
  /** Chunks in flight at once (default 1); each lane owns one buffer, two with `readBack`. */
  lanes?: number;
  signal?: AbortSignal;
  /** Sees every chunk, in order, before its buffer is reused (hashing); needs a single lane and no `readBack`. */
  onChunk?: (chunk: Uint8Array) => void;
  /**
   * Read each chunk back from `out` (opened for reading too) right after writing it and compare it with the bytes
   * read from the source, so the output is proven equal to the source in the same pass (done in lanes, even one).
   */
  readBack?: (at: number, n: number) => Error;
  /**
   * Bytes that replace the source's at their positions (relative to the copy's start), applied to each chunk as it is
   * read: hashing, writing and reading back all see the replaced bytes, so verification proves the output equals the
   * source everywhere else.
   */
  edits?: readonly CopyEdit[];
  /** Called after each write with the bytes copied so far. */
  onProgress?: (copied: number) => void;
  onShort: (copied: number) => Error;
}

export async function copyRange(p: CopyParams): Promise<void> {
  const lanes = p.lanes ?? 1;
  if (p.onChunk && (lanes > 1 || p.readBack)) throw new TypeError("copyRange: onChunk needs the chunks in order (one lane, no readBack)");
  return lanes > 1 || p.readBack ? copyInLanes(p, lanes) : copyInOrder(p);
}

async function copyInLanes(p: CopyParams, lanes: number): Promise<void> {
  await inLanes({
    length: p.length,
    chunk: Math.max(1, Math.min(p.bufferBytes ?? LANE_CHUNK_BYTES, p.length)),
    lanes,
    ...(p.signal ? { signal: p.signal } : {}),
    init: (size) => [new Uint8Array(size), p.readBack ? new Uint8Array(size) : undefined] as const,
    async work([buf, back], at, n) {
      const reader = p.openReader(at, at + n);
      try {
        const got = await readFully(buf.subarray(0, n), (into) => reader.readInto(into));
        if (got < n) throw p.onShort(at + got);
      } finally {
        await reader.close();
      }
      applyEdits(p.edits, buf.subarray(0, n), at);
      await writeAll(p.out, buf.subarray(0, n), p.outOffset + at);
      if (back && p.readBack) {
        const got = await readFully(back.subarray(0, n), async (into, from) => (await p.out.read(into, 0, into.length, p.outOffset + at + from)).bytesRead);
        if (got !== n || !Buffer.from(back.buffer, 0, n).equals(buf.subarray(0, n))) throw p.readBack(at, n);
      }
    },
    ...(p.onProgress ? { onProgress: p.onProgress } : {}),
  });
}

/**
 * Runs `work` over [0, length) in chunks of `chunk` bytes, `lanes` chunks at a time, each lane with its own state
 * (buffers) from `init`; `onProgress` gets the bytes done. Every lane settles before it returns or throws (no read
 * or write outlives the caller's handles); the first error is the one thrown.
 */
export async function inLanes<S>(p: {
  length: number;
  chunk: number;
  lanes: number;
  signal?: AbortSignal;
  init: (chunk: number) => S;
  work: (state: S, at: number, n: number) => Promise<void>;
  onProgress?: (done: number) => void;
}): Promise<void> {
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async () => {
    const state = p.init(p.chunk);
    try {
      while (!failed && next < p.length) {
        const at = next;
        const n = Math.min(p.chunk, p.length - at);
        next += n;
        p.signal?.throwIfAborted();
        await p.work(state, at, n);
        done += n;
        p.onProgress?.(done);
      }
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  const results = await Promise.allSettled(Array.from({ length: p.lanes }, lane));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected) throw rejected.reason;
}

async function copyInOrder(p: CopyParams): Promise<void> {
  const reader = p.openReader(0, p.length);
  const size = Math.max(1, Math.min(p.bufferBytes ?? DEFAULT_BUFFER_BYTES, p.length));
  const buffers = [new Uint8Array(size), new Uint8Array(size)];
  let copied = 0;
  let which = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const readNext = (buf: Uint8Array, offset: number) => reader.readInto(buf.subarray(0, Math.min(buf.length, p.length - offset)));
  let reading = p.length > 0 ? readNext(buffers[0], 0) : Promise.resolve(0);
  try {
    while (copied < p.length) {
      const n = await reading;
      // The other buffer is free once its write is done; start filling it before writing this one.
      await writing;
      if (n === 0) throw p.onShort(copied);
      p.signal?.throwIfAborted();
      const chunk = buffers[which].subarray(0, n);
      applyEdits(p.edits, chunk, copied);
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
  } finally {
    await reader.close();
  }
}

async function writeAll(out: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await out.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}
