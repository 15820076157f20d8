// Reading byte ranges: the reader a byte source hands out, filling a buffer from reads that may come up short, and
// bytes replaced on the way (frequency tensors). The sources, the copier (copy.ts) and the stream (stream.ts) build on it.
/** Reads a byte range front to back into caller-owned buffers. */
export interface RangeReader {
  /** Fills `buf` as far as the range allows; 0 means the range (or the file) ended. */
  readInto(buf: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/**
 * Fills `buf` by calling `read` (given the rest of the buffer and its offset in `buf`) until it is full or `read`
 * returns 0; returns the bytes read.
 */
export async function readFully(buf: Uint8Array, read: (into: Uint8Array, from: number) => Promise<number>): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const n = await read(buf.subarray(got), got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Bytes to write at `at` (relative to the copy's start) instead of the source's. */
export interface CopyEdit {
  at: number;
  bytes: Uint8Array;
}

/** Writes the parts of `edits` that fall within `chunk`, which holds the bytes from `at` on. */
export function applyEdits(edits: readonly CopyEdit[] | undefined, chunk: Uint8Array, at: number): void {
  for (const e of edits ?? []) {
    const from = Math.max(at, e.at);
    const to = Math.min(at + chunk.length, e.at + e.bytes.length);
    if (from < to) chunk.set(e.bytes.subarray(from - e.at, to - e.at), from - at);
  }
}
