// Finds where a GGUF header ends by skipping over it (lengths and types only, no values decoded),
// fetching it in small steps. @huggingface/gguf then parses exactly these bytes, so a remote plan
// downloads the header plus at most one step instead of whole 2 MB parser chunks, and a length or
// count that points past the end of the file is caught before anything large is allocated.
import { GgufError } from "./errors.ts";
import type { ByteSource } from "./byte-source.ts";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const STEP = 256 * 1024;
const MAX_ARRAY_DEPTH = 4;
// Bytes of each fixed-size GGUF value type (by type id); 8 = string and 9 = array are variable.
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Where one key/value sits in the header. */
export interface KvSpan {
  key: string;
  type: number;
  /** An array's element type. */
  elementType?: number;
  /** [start, end) of the whole entry (key, type, value). */
  start: number;
  end: number;
}

export interface HeaderBytes {
  /** The file's first bytes, at least through the end of the tensor infos. */
  bytes: Uint8Array;
  kvs: KvSpan[];
  /** Start of the tensor infos. */
  infoStart: number;
  /** End of the tensor infos (before the alignment padding). */
  infoEnd: number;
  littleEndian: boolean;
}

/**
 * Skips up to `count` GGUF strings from `at` within the first `have` bytes. Stops early where the next string is not
 * all there (`needs`: the bytes it needs) or its length is past `limit` or 2^32 (`needs` = -1).
 */
function skipStrings(view: DataView, at: number, count: number, have: number, limit: number, littleEndian: boolean): { at: number; skipped: number; needs: number } {
  const [loAt, hiAt] = littleEndian ? [0, 4] : [4, 0];
  for (let i = 0; i < count; i++) {
    if (at + 8 > have) return { at, skipped: i, needs: at + 8 };
    const len = view.getUint32(at + loAt, littleEndian);
    if (view.getUint32(at + hiAt, littleEndian) !== 0 || len > limit) return { at, skipped: i, needs: -1 };
    if (at + 8 + len > have) return { at, skipped: i, needs: at + 8 + len };
    at += 8 + len;
  }
  return { at, skipped: count, needs: at };
}

export async function fetchHeaderBytes(source: ByteSource, checkPrefix: (bytes: Uint8Array, size: number | undefined) => void): Promise<HeaderBytes> {
  const file = source.name;
  let buf = new Uint8Array(0);
  let view = new DataView(buf.buffer);
  let have = 0;
  let eof = false;
  const pastEnd = () =>
    new GgufError(file, "truncated", `the header runs past the end of the file (${source.size() ?? have} bytes): truncated, or a length is corrupt`);

  const need = async (end: number) => {
    if (end <= have) return;
    const size = source.size();
    if (eof || (size !== undefined && end > size)) throw pastEnd();
    // Small steps for small headers, larger ones for multi-MiB vocabularies (fewer requests).
    let want = Math.max(end, have + (have >= 8 * STEP ? 4 * STEP : STEP));
    if (size !== undefined) want = Math.min(want, size);
    if (want > buf.length) {
      const grown = new Uint8Array(Math.max(want, buf.length * 2));
      grown.set(buf.subarray(0, have));
      buf = grown;
      view = new DataView(buf.buffer);
    }
    const n = await source.readAt(buf.subarray(have, want), have);
    have += n;
    if (have < want) eof = true;
    if (end > have) throw pastEnd();
  };

  await need(Math.min(24, source.size() ?? 24)).catch((err) => {
    if (!(err instanceof GgufError) || have === 0) throw err;
  });
  checkPrefix(buf.subarray(0, have), source.size());
  let version = view.getUint32(4, true);
  const littleEndian = (version & 0xffff) !== 0;
  if (!littleEndian) version = view.getUint32(4, false);
  let at = 8;
  const u32 = async () => {
    await need(at + 4);
    const v = view.getUint32(at, littleEndian);
    at += 4;
    return v;
  };
  const u64 = async () => {
    await need(at + 8);
    const v = view.getBigUint64(at, littleEndian);
    at += 8;
    const size = source.size();
    // Every length and count is bounded by the file: anything larger cannot be read.
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || (size !== undefined && v > BigInt(size))) {
      throw new GgufError(file, "limits", `a length or count of ${v} at byte ${at - 8} exceeds the file size (${size ?? "unknown"} bytes)`);
    }
    return Number(v);
  };
  const skip = async (n: number) => {
    await need(at + n);
    at += n;
  };
  const string = async () => skip(await u64());
  const decoder = new TextDecoder();
  const value = async (type: number, depth: number): Promise<void> => {
    const fixed = FIXED[type];
    if (fixed !== undefined) return skip(fixed);
    if (type === 8) return string();
    if (type !== 9) throw new GgufError(file, "value-type", `unknown metadata value type ${type}`);
    if (depth >= MAX_ARRAY_DEPTH) throw new GgufError(file, "malformed", `arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const sub = await u32();
    const count = await u64();
    const fixedSize = FIXED[sub];
    if (fixedSize !== undefined) return skip(count * fixedSize);
    if (sub === 9) {
      for (let i = 0; i < count; i++) await value(sub, depth + 1);
      return;
    }
    if (sub !== 8) throw new GgufError(file, "value-type", `unknown metadata value type ${sub}`);
    // Arrays of strings (vocabularies) hold most of a header: walk them in a plain loop (skipStrings), not a
    // promise (or a BigInt) per element, waiting only where more bytes must be read.
    const limit = source.size() ?? Number.MAX_SAFE_INTEGER;
    for (let left = count; left > 0; ) {
      const r = skipStrings(view, at, left, have, limit, littleEndian);
      at = r.at;
      left -= r.skipped;
      if (r.needs < 0) {
        const [hi, lo] = [view.getUint32(at + (littleEndian ? 4 : 0), littleEndian), view.getUint32(at + (littleEndian ? 0 : 4), littleEndian)];
        const big = (BigInt(hi) << 32n) | BigInt(lo);
        throw new GgufError(file, "limits", `a length or count of ${big} at byte ${at} exceeds the file size (${source.size() ?? "unknown"} bytes)`);
      }
      if (left > 0) await need(r.needs);
    }
  };

  const tensorCount = await u64();
  const kvCount = await u64();
  const kvs: KvSpan[] = [];
  for (let i = 0; i < kvCount; i++) {
    const start = at;
    await string();
    const key = decoder.decode(buf.subarray(start + 8, at));
    const type = await u32();
    if (type === 9) await need(at + 4);
    const elementType = type === 9 ? view.getUint32(at, littleEndian) : undefined;
    await value(type, 0);
    kvs.push({ key, type, ...(elementType !== undefined && { elementType }), start, end: at });
  }
  const infoStart = at;
  for (let i = 0; i < tensorCount; i++) {
    await string();
    const dims = await u32();
    if (dims > 8) throw new GgufError(file, "limits", `a tensor with ${dims} dimensions (at most 8)`);
    await skip(dims * 8 + 4 + 8);
  }
  return { bytes: buf.subarray(0, have), kvs, infoStart, infoEnd: at, littleEndian };
}
