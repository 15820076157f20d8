// Reading byte ranges: the reader a byte source hands out, and filling a buffer from reads that may come up
// short. Both the sources (source.ts) and the copier (copy.ts) build on this, so neither imports the other.
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
