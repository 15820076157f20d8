// Proves a written GGUF: it parses, carries the planned keys with their types, keeps every other key
// and the tensor infos, and its tensor data equals the source's byte for byte.
import { createHash } from "node:crypto";
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import type { GgufEntry } from "./keys.ts";
import { readGgufHeader } from "./read.ts";
import type { GgufHeader } from "./read.ts";
import { openLocalSource } from "./source.ts";
import type { ByteSource } from "./source.ts";
import { DEFAULT_BUFFER_BYTES, readFully } from "./copy.ts";

const same = (a: unknown, b: unknown): boolean => {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
};

/** Checks the re-parsed metadata: planned entries as written, every other key as in the source. */
export function checkMetadata(file: string, source: GGUFTypedMetadata, out: GGUFTypedMetadata, entries: readonly GgufEntry[]): void {
  const planned = new Map(entries.map((e) => [e.key, e]));
  for (const [key, e] of planned) {
    const got = out[key];
    const want = e.type === 6 ? Math.fround(e.value as number) : e.value;
    if (!got || got.type !== e.type || !same(typeof got.value === "bigint" ? Number(got.value) : got.value, want)) {
      throw new GgufError(file, "verify", `verification failed: ${key} is ${String(got?.value)} (type ${got?.type}), expected ${want} (type ${e.type})`);
    }
  }
  for (const [key, entry] of Object.entries(source)) {
    if (planned.has(key) || key === "kv_count") continue;
    const got = out[key];
    if (!got || got.type !== entry.type || !same(got.value, entry.value)) {
      throw new GgufError(file, "verify", `verification failed: key ${key} changed`);
    }
  }
}

/** The large arrays that were not decoded must be byte-identical to the source's. */
export function checkSkippedKeys(file: string, source: GgufHeader, out: GgufHeader): void {
  const bytesOf = (h: GgufHeader, key: string) => {
    const kv = h.kvs.find((k) => k.key === key);
    return kv ? Buffer.from(h.raw.buffer, h.raw.byteOffset + kv.start, kv.end - kv.start) : undefined;
  };
  for (const key of source.skippedKeys) {
    const a = bytesOf(source, key);
    const b = bytesOf(out, key);
    if (!a || !b || !a.equals(b)) throw new GgufError(file, "verify", `verification failed: key ${key} changed`);
  }
}

export interface DataCheckParams {
  file: string;
  out: GgufHeader;
  outSource: ByteSource;
  /** SHA-256 of the source's tensor data, taken while it streamed in. */
  sha256: string;
  length: number;
  bufferBytes?: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}


/**
 * Hashes the output's tensor data in order (double-buffered reads) and compares it with the SHA-256 taken while the
 * source streamed in (a remote source is not downloaded twice). Local sources are checked during the copy instead
 * (copyRange's readBack).
 */
export async function checkDataHash(p: DataCheckParams): Promise<void> {
  const outLen = (p.outSource.size() ?? 0) - p.out.dataOffset;
  if (outLen !== p.length) {
    throw new GgufError(p.file, "verify", `verification failed: ${outLen} bytes of tensor data, expected ${p.length}`);
  }
  const size = Math.max(1, Math.min(p.bufferBytes ?? DEFAULT_BUFFER_BYTES, p.length));
  const reader = p.outSource.openRange(p.out.dataOffset, p.out.dataOffset + p.length, p.signal);
  const hash = createHash("sha256");
  const bufs = [new Uint8Array(size), new Uint8Array(size)];
  let done = 0;
  let which = 0;
  const fill = (buf: Uint8Array) => readFully(buf, (into) => reader.readInto(into));
  let pending = fill(bufs[0]!);
  try {
    while (done < p.length) {
      const n = await pending;
      if (n === 0) throw new GgufError(p.file, "verify", `verification failed: tensor data ends early at byte ${done}`);
      if (done + n < p.length) pending = fill(bufs[1 - which]!);
      hash.update(bufs[which]!.subarray(0, n));
      done += n;
      which = 1 - which;
      p.signal?.throwIfAborted();
      p.onProgress?.(done);
    }
  } catch (err) {
    await pending.catch(() => {});
    throw err;
  } finally {
    await reader.close();
  }
  const got = hash.digest("hex");
  if (got !== p.sha256) throw new GgufError(p.file, "verify", `verification failed: tensor data SHA-256 ${got}, source ${p.sha256}`);
}

export async function readLocalHeader(path: string): Promise<{ header: GgufHeader; source: ByteSource }> {
  const source = await openLocalSource(path);
  try {
    return { header: await readGgufHeader(source), source };
  } catch (err) {
    await source.close();
    throw err;
  }
}
