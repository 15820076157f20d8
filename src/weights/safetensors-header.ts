// Parses the JSON header of a .safetensors file: 8-byte little-endian length, then JSON mapping tensor
// names to {dtype, shape, data_offsets} relative to the end of the header.
import { ModelFormatError } from "../errors.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16";

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets [begin, end) in the file (already past the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Bytes taken by the length prefix and the JSON header. */
  dataStart: number;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
// A header larger than this is not a model header but a corrupt or hostile file.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads the header from the first bytes of the file (`bytes` must hold at least the whole header). */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (bytes.length < 8) throw new ModelFormatError("not a safetensors file (shorter than 8 bytes)", file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  if (length > MAX_HEADER_BYTES || 8 + length > fileSize) {
    throw new ModelFormatError(`safetensors header length ${length} does not fit the file (${fileSize} bytes)`, file);
  }
  if (bytes.length < 8 + length) throw new ModelFormatError("safetensors header truncated", file);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch (err) {
    throw new ModelFormatError(`safetensors header is not JSON: ${(err as Error).message}`, file);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ModelFormatError("safetensors header is not an object", file);
  const dataStart = 8 + length;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as SafetensorsDtype;
    if (!(typeof dtype === "string" && dtype in BYTES)) {
      throw new ModelFormatError(`tensor ${name} has dtype ${String(e.dtype)}; supported: F32, F16, BF16`, file);
    }
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ModelFormatError(`tensor ${name} has a malformed shape`, file);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new ModelFormatError(`tensor ${name} has malformed data_offsets`, file);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const begin = dataStart + (offsets[0] as number);
    const end = dataStart + (offsets[1] as number);
    if (end - begin !== count * BYTES[dtype] || end > fileSize) {
      throw new ModelFormatError(`tensor ${name}: ${end - begin} bytes at [${begin}, ${end}) do not hold ${dtype}${JSON.stringify(shape)} within the file`, file);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  return { tensors, metadata, dataStart };
}
