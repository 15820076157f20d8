// Byte sources for a GGUF on disk, and the choice between a local path and a URL (byte-source.ts has the remote and
// in-memory sources, which need no Node modules).
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { readFully } from "./range-reader.ts";
import { GgufError } from "./errors.ts";
import { type ByteSource, isUrl, openRemoteSource, rangeOf, type RemoteSourceOptions } from "./byte-source.ts";

export { DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS, isUrl, openBytesSource, openRemoteSource } from "./byte-source.ts";
export type { ByteSource, FetchLike, RemoteSourceOptions } from "./byte-source.ts";

/**
 * Opens a local GGUF as a byte source (GgufError when it is missing or not a regular file).
 *
 * @example
 * const source = await openLocalSource("model.gguf");
 * try { console.log((await readGgufHeader(source)).architecture); } finally { await source.close(); }
 */
export async function openLocalSource(path: string): Promise<ByteSource> {
  let fileSize: number;
  let handle: FileHandle;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new GgufError(path, "not-gguf", "not a regular file");
    fileSize = st.size;
    handle = await open(path, "r");
  } catch (err) {
    if (err instanceof GgufError) throw err;
    throw new GgufError(path, "not-gguf", `cannot open: ${(err as Error).message}`);
  }
  let fetched = 0;
  const readAt = async (buf: Uint8Array, position: number): Promise<number> => {
    if (position >= fileSize) return 0;
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, fileSize - position), position);
    fetched += bytesRead;
    return bytesRead;
  };
  return {
    name: path,
    remote: false,
    size: () => fileSize,
    bytesFetched: () => fetched,
    readAt: (into, position) => readFully(into, (rest, from) => readAt(rest, position + from)),
    openRange: (start, end) => rangeOf(readAt, start, end),
    close: () => handle.close(),
  };
}

/**
 * A byte source for a path or an http(s) URL (openLocalSource or openRemoteSource).
 *
 * @example
 * const source = await openSource(process.argv[2]);
 */
export async function openSource(location: string, opts: RemoteSourceOptions = {}): Promise<ByteSource> {
  return isUrl(location) ? openRemoteSource(location, opts) : openLocalSource(location);
}

/** Opens `location`, hands the source to `use` and closes it again, whatever `use` does. */
export async function withSource<T>(location: string, opts: RemoteSourceOptions, use: (source: ByteSource) => Promise<T>): Promise<T> {
  const source = await openSource(location, opts);
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}
