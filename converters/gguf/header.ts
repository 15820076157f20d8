// Rebuilds a GGUF header: untouched key/values copied byte for byte, changed or new ones serialized by
// @huggingface/gguf, the tensor infos copied, then zero padding up to `general.alignment`, where the
// unchanged tensor data starts.
import { GGUFValueType, serializeGgufMetadata } from "@huggingface/gguf";
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import type { GgufEntry } from "./keys.ts";
import type { GgufHeader } from "./read.ts";

/** The bytes of one key/value entry (key, type, value) as GGUF v2/v3 stores it. */
function entryBytes(header: GgufHeader, e: GgufEntry): Uint8Array {
  const wide = e.type === GGUFValueType.UINT64 || e.type === GGUFValueType.INT64;
  const meta = {
    version: { value: header.version, type: GGUFValueType.UINT32 },
    tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
    kv_count: { value: 1n, type: GGUFValueType.UINT64 },
    [e.key]: { value: wide ? BigInt(e.value) : e.value, type: e.type },
  } as GGUFTypedMetadata;
  try {
    // alignment 1: no padding; the first 24 bytes are the magic, version and the two counts
    return serializeGgufMetadata(meta, { littleEndian: header.littleEndian, alignment: 1 }).subarray(24);
  } catch (err) {
    throw new GgufError(header.file, "unsupported", `cannot serialize ${e.key} (${(err as Error).message})`);
  }
}

/** The new header (ending at the new data offset) with `entries` set; every other byte as in the source. */
export function buildPatchedHeader(header: GgufHeader, entries: readonly GgufEntry[]): Uint8Array {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const parts: Uint8Array[] = [];
  for (const kv of header.kvs) {
    const e = byKey.get(kv.key);
    parts.push(e ? entryBytes(header, e) : header.raw.subarray(kv.start, kv.end));
    byKey.delete(kv.key);
  }
  for (const e of byKey.values()) parts.push(entryBytes(header, e));
  const [infoStart, infoEnd] = header.tensorInfoByteRange;
  parts.push(header.raw.subarray(infoStart, infoEnd));
  const unpadded = 24 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(Math.ceil(unpadded / header.alignment) * header.alignment);
  out.set(header.raw.subarray(0, 24), 0);
  new DataView(out.buffer).setBigUint64(16, BigInt(header.kvs.length + byKey.size), header.littleEndian);
  let at = 24;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
