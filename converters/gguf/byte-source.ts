// Byte sources that run anywhere (no Node modules): a remote GGUF read with HTTP Range requests, and bytes or a Blob
// already at hand (the browser's File). Each counts the bytes it pulls in, so a caller can show that planning a
// remote file costs only its header. Local files are in source.ts.
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

export interface RemoteSourceOptions {
  fetch?: FetchLike;
  headers?: Record<string, string>;
  /** Milliseconds a request may go without progress (no response headers, no body bytes) before it is retried (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first when a request stalls, drops or gets a 429/5xx (default 2): a Range GET is safe to repeat. */
  retries?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 2;

/** Waits `ms`, or rejects with the signal's reason once it aborts (node:timers/promises' sleep, without Node). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Answers worth asking again: the server may answer properly a moment later. */
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Why one attempt failed in a way worth another (the message ends up in the final error). */
class Retryable extends Error {}

/** Resolves as `work` does, or rejects with Retryable once `ms` pass first; `onStall` then stops the work. */
async function withinTimeout<T>(work: Promise<T>, ms: number, onStall: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Retryable(`no data for ${ms / 1000} s`)), ms);
  });
  work.catch(() => {}); // settles after a stall too, unobserved
  try {
    return await Promise.race([work, stalled]);
  } catch (err) {
    if (err instanceof Retryable) onStall();
    throw err;
  } finally {
    clearTimeout(timer);
  }
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
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = opts.retries ?? DEFAULT_RETRIES;
  let fileSize: number | undefined;
  let fetched = 0;
  const noteContentRange = (res: Response) => {
    const total = res.headers.get("content-range")?.match(/\/\s*(\d+)\s*$/)?.[1];
    if (total !== undefined) fileSize = Number(total);
  };
  /** One attempt at bytes start..last; resolves to the body's reader and where its bytes end (when the server says). */
  const request = async (start: number, last: number, attempt: AbortController): Promise<{ body?: ReadableStreamDefaultReader<Uint8Array>; end?: number }> => {
    let res: Response;
    try {
      res = await withinTimeout(doFetch(url, { headers: { ...opts.headers, Range: `bytes=${start}-${last}` }, signal: attempt.signal }), timeoutMs, () => attempt.abort());
    } catch (err) {
      if (err instanceof Retryable || attempt.signal.aborted) throw err;
      throw new Retryable(`request failed: ${(err as Error).message}`);
    }
    if (res.status === 416) {
      await res.body?.cancel();
      noteContentRange(res);
      return {};
    }
    if (res.status !== 206 && res.status !== 200) {
      await res.body?.cancel();
      const status = `HTTP ${res.status} ${res.statusText}`.trim();
      throw RETRY_STATUS.has(res.status) ? new Retryable(status) : new GgufError(url, "http", status);
    }
    let end: number | undefined;
    if (res.status === 200) {
      // A server that ignores Range sends the whole file; refuse rather than download gigabytes.
      const length = Number(res.headers.get("content-length") ?? NaN);
      if (start !== 0 || !(length <= last - start + 1)) {
        await res.body?.cancel();
        throw new GgufError(url, "http", "the server ignored the Range request (HTTP 200 instead of 206)");
      }
      fileSize = length;
      end = length;
    } else {
      noteContentRange(res);
      const lastSent = res.headers.get("content-range")?.match(/^\s*bytes\s+\d+\s*-\s*(\d+)/i)?.[1];
      if (lastSent !== undefined) end = Number(lastSent) + 1;
    }
    return { ...(res.body && { body: res.body.getReader() }), ...(end !== undefined && { end }) };
  };
  /**
   * Reads [start, end) as a stream of chunks. A request that stalls past the timeout, a body that stops short of what
   * the server announced, a failed connection or a 429/5xx answer is asked again from the first byte not yet
   * received, up to `retries` times in a row; then it is one GgufError (exit 2).
   */
  const openRange = (start: number, end: number, signal?: AbortSignal): RangeReader => {
    let received = start; // the next byte to ask the server for
    let delivered = start; // the next byte to hand the caller
    let current: { attempt: AbortController; body?: ReadableStreamDefaultReader<Uint8Array>; end?: number } | undefined;
    let pending: Uint8Array = new Uint8Array(0);
    let failures = 0;
    // The caller's abort stops the attempt in flight at once, whatever it waits for.
    const stop = () => current?.attempt.abort();
    signal?.addEventListener("abort", stop, { once: true });
    const drop = () => {
      current?.attempt.abort();
      current?.body?.cancel().catch(() => {});
      current = undefined;
    };
    /** The next chunk from the server, undefined where the range (or the file) ends. */
    const nextChunk = async (): Promise<Uint8Array | undefined> => {
      for (;;) {
        signal?.throwIfAborted();
        try {
          if (!current) {
            current = { attempt: new AbortController() };
            Object.assign(current, await request(received, end - 1, current.attempt));
          }
          const { body, attempt } = current;
          if (!body) return undefined;
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await withinTimeout(body.read(), timeoutMs, () => attempt.abort());
          } catch (err) {
            if (err instanceof Retryable || signal?.aborted) throw err;
            throw new Retryable(`the connection dropped: ${(err as Error).message}`);
          }
          if (!next.done) {
            fetched += next.value.length;
            received += next.value.length;
            failures = 0;
            return next.value;
          }
          if (current.end === undefined || received >= current.end) return undefined;
          throw new Retryable(`the connection closed at byte ${received} of ${current.end}`);
        } catch (err) {
          drop();
          if (signal?.aborted) throw signal.reason ?? err;
          if (!(err instanceof Retryable)) throw err;
          if (++failures > retries) throw new GgufError(url, "http", `${err.message} (${failures} attempts; a longer --timeout waits longer for a slow server)`);
          await sleep(Math.min(2000, 200 * 2 ** (failures - 1)), signal);
        }
      }
    };
    return {
      async readInto(buf) {
        const want = Math.min(buf.length, end - delivered);
        let n = 0;
        while (n < want) {
          if (pending.length === 0) {
            const chunk = await nextChunk();
            if (!chunk) break;
            pending = chunk;
          }
          const take = Math.min(pending.length, want - n);
          buf.set(pending.subarray(0, take), n);
          pending = pending.subarray(take);
          n += take;
          delivered += take;
        }
        return n;
      },
      async close() {
        signal?.removeEventListener("abort", stop);
        drop();
      },
    };
  };
  return {
    name: url,
    remote: true,
    size: () => fileSize,
    bytesFetched: () => fetched,
    async readAt(into, position) {
      const range = openRange(position, position + into.length);
      try {
        return await readFully(into, (rest) => range.readInto(rest));
      } finally {
        await range.close();
      }
    },
    openRange,
    close: async () => {},
  };
}


/** What openBytesSource reads: bytes in memory, or a Blob (a browser's File) read a slice at a time. */
export type BytesLike = Uint8Array | Blob;

/**
 * A byte source over bytes in memory or a Blob (a File from a picker or a drop): the header is read slice by slice,
 * so a multi-gigabyte File is never loaded whole.
 *
 * @example
 * const source = openBytesSource(input.files[0], input.files[0].name);
 * const header = await readGgufHeader(source);
 */
export function openBytesSource(bytes: BytesLike, name: string): ByteSource {
  let fetched = 0;
  const size = bytes instanceof Uint8Array ? bytes.length : bytes.size;
  const readAt = async (into: Uint8Array, position: number): Promise<number> => {
    const end = Math.min(size, position + into.length);
    if (position >= end) return 0;
    const part = bytes instanceof Uint8Array ? bytes.subarray(position, end) : new Uint8Array(await bytes.slice(position, end).arrayBuffer());
    into.set(part);
    fetched += part.length;
    return part.length;
  };
  return {
    name,
    remote: false,
    size: () => size,
    bytesFetched: () => fetched,
    readAt,
    openRange: (start, end) => rangeOf(readAt, start, end),
    close: async () => {},
  };
}

/** A reader of [start, end) over a positioned read that may come up short (a file handle's, a Blob's). */
export function rangeOf(readAt: (into: Uint8Array, position: number) => Promise<number>, start: number, end: number): RangeReader {
  let pos = start;
  return {
    async readInto(buf) {
      const n = await readAt(buf.subarray(0, Math.min(buf.length, Math.max(0, end - pos))), pos);
      pos += n;
      return n;
    },
    async close() {},
  };
}
