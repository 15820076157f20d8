// Byte sources for a GGUF: a local file or a remote URL read with HTTP Range requests. Both count
// the bytes they pull in, so a caller can show that planning a remote file costs only its header.
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { type RangeReader, readFully } from "./range-reader.ts";
import { GgufError } from "./errors.ts";

export type FetchLike = typeof fetch;

export interface ByteSource {
  /** The path or URL, for messages. */
  readonly name: string;
  readonly remote: boolean;
  /** Total size in bytes; for a remote file, known after the first response that reports it. */
  size(): number | undefined;
  /** Bytes read from disk or received from the network so far. */
  bytesFetched(): number;
  openRange(start: number, end: number, signal?: AbortSignal): RangeReader;
  /** Fills `into` with the bytes from `position` on; returns how many (fewer where the file ends first). */
  readAt(into: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

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
    openRange(start, end) {
      let pos = start;
      return {
        async readInto(buf) {
          const n = await readAt(buf.subarray(0, Math.min(buf.length, Math.max(0, end - pos))), pos);
          pos += n;
          return n;
        },
        async close() {},
      };
    },
    close: () => handle.close(),
  };
}

export interface RemoteSourceOptions {
  fetch?: FetchLike;
  headers?: Record<string, string>;
}

/**
 * A remote GGUF as a byte source read with HTTP Range requests; a server that ignores Range is refused rather than downloaded.
 *
 * @example
 * const source = openRemoteSource(url, { headers: { Authorization: `Bearer ${token}` } });
 * const header = await readGgufHeader(source);
 * console.log(source.bytesFetched(), "bytes fetched for the header");
 */
export function openRemoteSource(url: string, opts: RemoteSourceOptions = {}): ByteSource {
  const doFetch = opts.fetch ?? fetch;
  let fileSize: number | undefined;
  let fetched = 0;
  const noteContentRange = (res: Response) => {
    const total = res.headers.get("content-range")?.match(/\/\s*(\d+)\s*$/)?.[1];
    if (total !== undefined) fileSize = Number(total);
  };
  const request = async (start: number, last: number | undefined, signal?: AbortSignal): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: { ...opts.headers, Range: `bytes=${start}-${last ?? ""}` },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new GgufError(url, "http", `request failed: ${(err as Error).message}`);
    }
    if (res.status === 416) {
      await res.body?.cancel();
      noteContentRange(res);
      return new Response(new Uint8Array(0), { status: 206 });
    }
    if (res.status !== 206 && res.status !== 200) {
      await res.body?.cancel();
      throw new GgufError(url, "http", `HTTP ${res.status} ${res.statusText}`.trim());
    }
    if (res.status === 200) {
      // A server that ignores Range sends the whole file; refuse rather than download gigabytes.
      const length = Number(res.headers.get("content-length") ?? NaN);
      const wanted = last === undefined ? Infinity : last - start + 1;
      if (start !== 0 || !(length <= wanted)) {
        await res.body?.cancel();
        throw new GgufError(url, "http", "the server ignored the Range request (HTTP 200 instead of 206)");
      }
      fileSize = length;
    } else {
      noteContentRange(res);
    }
    return res;
  };
  return {
    name: url,
    remote: true,
    size: () => fileSize,
    bytesFetched: () => fetched,
    async readAt(into, position) {
      if (into.length === 0) return 0;
      const body = new Uint8Array(await (await request(position, position + into.length - 1)).arrayBuffer());
      fetched += body.length;
      into.set(body.subarray(0, into.length));
      return Math.min(body.length, into.length);
    },
    openRange(start, end, signal) {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let pending: Uint8Array = new Uint8Array(0);
      let remaining = end - start;
      return {
        async readInto(buf) {
          if (remaining <= 0) return 0;
          if (!reader) {
            const res = await request(start, end - 1, signal);
            if (!res.body) return 0;
            reader = res.body.getReader();
          }
          let n = 0;
          const want = Math.min(buf.length, remaining);
          while (n < want) {
            if (pending.length === 0) {
              const { done, value } = await reader.read();
              if (done) break;
              fetched += value.length;
              pending = value;
            }
            const take = Math.min(pending.length, want - n);
            buf.set(pending.subarray(0, take), n);
            pending = pending.subarray(take);
            n += take;
          }
          remaining -= n;
          return n;
        },
        async close() {
          await reader?.cancel().catch(() => {});
        },
      };
    },
    close: async () => {},
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
