// Rebuilds a GGUF header: the key/values serialized by @huggingface/gguf, the tensor infos copied
// byte for byte, then zero padding up to `general.alignment`, where the unchanged tensor data starts.
import { serializeGgufMetadata } from "@huggingface/gguf";
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import { GgufError } from "./errors.ts";
import type { GgufHeader } from "./read.ts";

function serializeKvs(header: GgufHeader, meta: GGUFTypedMetadata): Uint8Array {
  try {
    // alignment 1: no padding after the key/values, the tensor infos follow them directly
    return serializeGgufMetadata(meta, { littleEndian: header.littleEndian, alignment: 1 });
  } catch (err) {
    throw new GgufError(header.file, "unsupported", `cannot re-serialize the metadata (${(err as Error).message})`);
  }
}

/** The new header (ending at the new data offset) for `meta`, which must be `header.metadata` plus edits. */
export function buildPatchedHeader(header: GgufHeader, meta: GGUFTypedMetadata): Uint8Array {
  const [infoStart, infoEnd] = header.tensorInfoByteRange;
  // Re-serializing the untouched metadata must give back the original bytes; otherwise a rewrite
  // would silently change keys we were not asked to touch.
  const original = serializeKvs(header, header.metadata);
  const same = original.length === infoStart && original.every((b, i) => b === header.raw[i]);
  if (!same) {
    throw new GgufError(header.file, "unsupported", "the metadata does not re-serialize to the same bytes; refusing a lossy rewrite");
  }
  const kvs = serializeKvs(header, meta);
  const unpadded = kvs.length + (infoEnd - infoStart);
  const out = new Uint8Array(Math.ceil(unpadded / header.alignment) * header.alignment);
  out.set(kvs, 0);
  out.set(header.raw.subarray(infoStart, infoEnd), kvs.length);
  return out;
}
