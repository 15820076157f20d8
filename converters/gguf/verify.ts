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
import { DEFAULT_BUFFER_BYTES } from "./copy.ts";
import { readFully } from "./range-reader.ts";
import { type FreqTensor, readFreqTensors } from "./freq-tensors.ts";

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

/** Wraps a source so that it reports `size`: a file still being written, parsed as it will be when complete. */
const sized = (source: ByteSource, size: number): ByteSource => ({ ...source, size: () => size });

export interface WrittenHeaderParams {
  /** The output's name, for messages. */
  file: string;
  /** Where it is being written. */
  path: string;
  /** The size it will have once complete. */
  size: number;
  /** The source's header. */
  source: GgufHeader;
  entries: readonly GgufEntry[];
  /** Where the tensor data starts, and its length. */
  dataOffset: number;
  dataLength: number;
}

/**
 * Re-parses the header written at `path` and checks it against the source's: the planned keys as written, every
 * other key, the tensor infos, where the tensor data starts and how long it is. A rebuilt header is all there once
 * written, so this can run while the tensor data is still being copied; the file's final size is the caller's to check.
 */
export async function checkWrittenHeader(p: WrittenHeaderParams): Promise<void> {
  const source = sized(await openLocalSource(p.path), p.size);
  try {
    const written = await readGgufHeader(source);
    checkMetadata(p.file, p.source.metadata, written.metadata, p.entries);
    checkSkippedKeys(p.file, p.source, written);
    const infos = (h: GgufHeader) => h.raw.subarray(h.tensorInfoByteRange[0], h.tensorInfoByteRange[1]);
    if (!Buffer.from(infos(written)).equals(infos(p.source))) {
      throw new GgufError(p.file, "verify", "verification failed: tensor infos differ from the source");
    }
    const region = p.size - written.dataOffset;
    if (written.dataOffset !== p.dataOffset || region !== p.dataLength) {
      throw new GgufError(p.file, "verify", `verification failed: tensor data at ${written.dataOffset} (${region} bytes), expected ${p.dataOffset} (${p.dataLength} bytes)`);
    }
  } finally {
    await source.close();
  }
}

export interface DataCheckParams {
  /** The output's name, for messages. */
  file: string;
  /** The written file. */
  path: string;
  /** Where its tensor data starts. */
  dataOffset: number;
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
  const source = await openLocalSource(p.path);
  const outLen = (source.size() ?? 0) - p.dataOffset;
  const size = Math.max(1, Math.min(p.bufferBytes ?? DEFAULT_BUFFER_BYTES, p.length));
  const reader = source.openRange(p.dataOffset, p.dataOffset + p.length, p.signal);
  const hash = createHash("sha256");
  const bufs = [new Uint8Array(size), new Uint8Array(size)];
  let done = 0;
  let which = 0;
  const fill = (buf: Uint8Array) => readFully(buf, (into) => reader.readInto(into));
  let pending: Promise<number> = Promise.resolve(0);
  try {
    if (outLen !== p.length) {
      throw new GgufError(p.file, "verify", `verification failed: ${outLen} bytes of tensor data, expected ${p.length}`);
    }
    pending = fill(bufs[0]!);
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
    await source.close();
  }
  const got = hash.digest("hex");
  if (got !== p.sha256) throw new GgufError(p.file, "verify", `verification failed: tensor data SHA-256 ${got}, source ${p.sha256}`);
}

/**
 * Reads the frequency tensors back through the written header (where its tensor infos say they are) and checks they
 * hold the planned values: the rewrite landed where llama.cpp will read it.
 *
 * @example
 * await checkFreqTensors({ file: "out.gguf", path: tmp, size, expected: planned.tensors }); // throws GgufError "verify"
 */
export async function checkFreqTensors(p: { file: string; path: string; size: number; expected: readonly FreqTensor[] }): Promise<void> {
  const source = sized(await openLocalSource(p.path), p.size);
  try {
    const written = await readFreqTensors(source, await readGgufHeader(source));
    for (const want of p.expected) {
      const got = written.find((t) => t.name === want.name);
      if (!got || !same(got.values, want.values.map(Math.fround))) {
        throw new GgufError(p.file, "verify", `verification failed: ${want.name} does not hold the planned values`);
      }
    }
  } finally {
    await source.close();
  }
}
