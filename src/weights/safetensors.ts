// Reading named tensors from a .safetensors file without loading the whole file: the header
// (8-byte little-endian length + JSON) is parsed once, each tensor is read by its byte range.
import { open } from "node:fs/promises";
import { fromFloat16Bits } from "../../kernels/float16.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL" | string;

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  file: string;
  /** Absolute byte offset of the data section. */
  dataStart: number;
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** The file is not a readable safetensors file, or lacks what was asked. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

// A hostile header must not make us allocate gigabytes.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const lenBuf = new Uint8Array(8);
    if (size < 8 || (await fh.read(lenBuf, 0, 8, 0)).bytesRead !== 8) throw new SafetensorsError(`${file}: too short to be safetensors`);
    const len = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
    if (len > MAX_HEADER_BYTES || 8 + len > size) throw new SafetensorsError(`${file}: header length ${len} is invalid for a ${size}-byte file`);
    const json = new Uint8Array(len);
    await fh.read(json, 0, len, 8);
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
    } catch (err) {
      throw new SafetensorsError(`${file}: header is not JSON (${(err as Error).message})`);
    }
    const dataStart = 8 + len;
    const tensors = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (name === "__metadata__") {
        metadata = (value ?? {}) as Record<string, string>;
        continue;
      }
      const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const offsets = v.data_offsets;
      if (typeof v.dtype !== "string" || !Array.isArray(v.shape) || !Array.isArray(offsets) || offsets.length !== 2) {
        throw new SafetensorsError(`${file}: tensor ${name} has a malformed header entry`);
      }
      const [b, e] = offsets as [number, number];
      if (!(Number.isInteger(b) && Number.isInteger(e) && 0 <= b && b <= e && dataStart + e <= size)) {
        throw new SafetensorsError(`${file}: tensor ${name} has data offsets [${b}, ${e}] outside the file`);
      }
      tensors.set(name, { dtype: v.dtype, shape: v.shape as number[], dataOffsets: [b, e] });
    }
    return { file, dataStart, tensors, metadata };
  } finally {
    await fh.close();
  }
}

/** Little-endian F32, F16 or BF16 bytes widened to float32 (copied first: the data section need not be aligned). */
function decodeFloats(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const aligned = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (dtype === "F32") return new Float32Array(aligned);
  if (dtype === "F16") return fromFloat16Bits(new Uint16Array(aligned));
  const src = new Uint16Array(aligned);
  const wide = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) wide[i] = src[i]! << 16;
  return new Float32Array(wide.buffer);
}

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The values widened to float32. */
  data: Float32Array;
}

/** Reads one F32, F16 or BF16 tensor as float32. */
export async function readSafetensorsTensor(params: { file: string; name: string; header?: SafetensorsHeader }): Promise<SafetensorsTensor> {
  const header = params.header ?? (await readSafetensorsHeader(params.file));
  const entry = header.tensors.get(params.name);
  if (!entry) throw new SafetensorsError(`${header.file}: no tensor named ${params.name}`);
  const width = BYTES[entry.dtype];
  if (entry.dtype !== "F32" && entry.dtype !== "F16" && entry.dtype !== "BF16") {
    throw new SafetensorsError(`${header.file}: tensor ${params.name} is ${entry.dtype}; only F32, F16 and BF16 can be read as floats`);
  }
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const [b, e] = entry.dataOffsets;
  if (e - b !== count * width!) {
    throw new SafetensorsError(`${header.file}: tensor ${params.name} has ${e - b} bytes, expected ${count * width!} for shape [${entry.shape}]`);
  }
  const bytes = new Uint8Array(e - b);
  const fh = await open(header.file, "r");
  try {
    await fh.read(bytes, 0, bytes.length, header.dataStart + b);
  } finally {
    await fh.close();
  }
  const data = decodeFloats(bytes, entry.dtype);
  return { name: params.name, dtype: entry.dtype, shape: entry.shape, data };
}

/** Reads selected rows of a 2-D F32/F16/BF16 tensor (embedding lookups) without reading the rest. */
export async function readSafetensorsRows(params: { header: SafetensorsHeader; name: string; rows: readonly number[] }): Promise<Float32Array> {
  const { header, name, rows } = params;
  const entry = header.tensors.get(name);
  if (!entry) throw new SafetensorsError(`${header.file}: no tensor named ${name}`);
  if (entry.shape.length !== 2 || !["F32", "F16", "BF16"].includes(entry.dtype)) {
    throw new SafetensorsError(`${header.file}: tensor ${name} is not a 2-D float tensor`);
  }
  const [nRows, width] = entry.shape as [number, number];
  const bytesPerValue = BYTES[entry.dtype]!;
  const out = new Float32Array(rows.length * width);
  const fh = await open(header.file, "r");
  try {
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      if (!(Number.isInteger(row) && row >= 0 && row < nRows)) throw new SafetensorsError(`${header.file}: row ${row} outside ${name} [${entry.shape}]`);
      const bytes = new Uint8Array(width * bytesPerValue);
      await fh.read(bytes, 0, bytes.length, header.dataStart + entry.dataOffsets[0] + row * bytes.length);
      out.set(decodeFloats(bytes, entry.dtype), r * width);
    }
  } finally {
    await fh.close();
  }
  return out;
}
