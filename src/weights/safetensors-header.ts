// Parses the JSON header of a .safetensors file: 8-byte little-endian length, then JSON mapping tensor
// names to {dtype, shape, data_offsets} relative to the end of the header.
import { SafetensorsError } from "./safetensors-error.ts";

/** F32, F16 and BF16 can be read as floats; other dtypes are listed in the header but not decoded. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL" | string;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets [begin, end) in the file (already past the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** The file the header was read from. */
  file: string;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Bytes taken by the length prefix and the JSON header. */
  dataStart: number;
}

/** Bytes per element of the dtypes whose width is known. */
export const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
// A header larger than this is not a model header but a corrupt or hostile file.
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** The header length stored in the first 8 bytes, checked against the cap and the file size. */
export function safetensorsHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (prefix.length < 8 || fileSize < 8) throw new SafetensorsError(file, "not a safetensors file (shorter than 8 bytes)");
  const length = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (length > MAX_HEADER_BYTES || 8 + length > fileSize) {
    throw new SafetensorsError(file, `safetensors header length ${length} does not fit the file (${fileSize} bytes)`);
  }
  return length;
}

/** Reads the header from the first bytes of the file (`bytes` must hold at least the whole header). */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const length = safetensorsHeaderLength(bytes, fileSize, file);
  if (bytes.length < 8 + length) throw new SafetensorsError(file, "safetensors header truncated");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch (err) {
    throw new SafetensorsError(file, `safetensors header is not JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new SafetensorsError(file, "safetensors header is not an object");
  const dataStart = 8 + length;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = (raw ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype;
    if (typeof dtype !== "string") throw new SafetensorsError(file, `tensor ${name} has a malformed dtype`);
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `tensor ${name} has a malformed shape`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new SafetensorsError(file, `tensor ${name} has malformed data_offsets`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const begin = dataStart + (offsets[0] as number);
    const end = dataStart + (offsets[1] as number);
    const width = DTYPE_BYTES[dtype];
    if (end < begin || end > fileSize || (width !== undefined && end - begin !== count * width)) {
      throw new SafetensorsError(file, `tensor ${name}: ${end - begin} bytes at [${begin}, ${end}) do not hold ${dtype}${JSON.stringify(shape)} within the file`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  return { file, tensors, metadata, dataStart };
}
