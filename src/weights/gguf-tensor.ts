// Reads rows of a GGUF tensor as float32 (F32, F16, BF16 and Q8_0) straight from the file, for the weights probe:
// an embedding lookup reads only the rows it needs, never the whole checkpoint.
import type { GGUFTensorInfo } from "@huggingface/gguf";
import { GgufError } from "../../converters/gguf/errors.ts";
import type { GgufHeader } from "../../converters/gguf/read.ts";
import { fromFloat16Bits } from "../core/float16.ts";
import { decodeTensor } from "./decode-tensor.ts";
import { readRange } from "./read-range.ts";

/** ggml type ids the reader decodes, with their names. */
export const GGUF_FLOAT_TYPES: Readonly<Record<number, string>> = { 0: "F32", 1: "F16", 8: "Q8_0", 30: "BF16" };
const Q8_0 = 8;
const Q8_BLOCK = 32;
const Q8_BLOCK_BYTES = 34; // f16 scale, then 32 signed bytes

export interface GgufMatrix {
  /** Row length (ggml's ne[0], the fastest dimension). */
  width: number;
  /** Number of rows (ne[1]; 1 for a vector). */
  height: number;
  info: GGUFTensorInfo;
}

/** The tensor's shape as rows × width, or a GgufError when it is absent, not 1-D/2-D, or of a type not decoded here. */
export function ggufMatrix(h: GgufHeader, name: string): GgufMatrix {
  const info = h.tensorInfos.find((t) => t.name === name);
  if (!info) throw new GgufError(h.file, "malformed", `no tensor named ${name}`);
  if (info.shape.length < 1 || info.shape.length > 2) throw new GgufError(h.file, "unsupported", `tensor ${name} has ${info.shape.length} dimensions (1 or 2 are read)`);
  if (GGUF_FLOAT_TYPES[info.dtype] === undefined) {
    throw new GgufError(h.file, "unsupported", `tensor ${name} is ggml type ${info.dtype}; only ${Object.values(GGUF_FLOAT_TYPES).join(", ")} are decoded`);
  }
  const width = Number(info.shape[0]);
  if (info.dtype === Q8_0 && width % Q8_BLOCK !== 0) throw new GgufError(h.file, "malformed", `tensor ${name}: Q8_0 rows of ${width} values are not whole blocks`);
  return { width, height: info.shape.length === 2 ? Number(info.shape[1]) : 1, info };
}

function rowBytes(m: GgufMatrix): number {
  if (m.info.dtype === Q8_0) return (m.width / Q8_BLOCK) * Q8_BLOCK_BYTES;
  return m.width * (m.info.dtype === 0 ? 4 : 2);
}

function decodeRow(bytes: Uint8Array, m: GgufMatrix): Float32Array {
  if (m.info.dtype !== Q8_0) return decodeTensor(bytes, GGUF_FLOAT_TYPES[m.info.dtype] as "F32" | "F16" | "BF16");
  const out = new Float32Array(m.width);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < m.width / Q8_BLOCK; b++) {
    const at = b * Q8_BLOCK_BYTES;
    const scale = fromFloat16Bits(new Uint16Array([view.getUint16(at, true)]))[0]!;
    for (let i = 0; i < Q8_BLOCK; i++) out[b * Q8_BLOCK + i] = scale * view.getInt8(at + 2 + i);
  }
  return out;
}

/** Rows `rows` (default: all) of tensor `name`, concatenated: [rows.length, width]. */
export function readGgufRows(h: GgufHeader, name: string, rows?: readonly number[]): Float32Array {
  const m = ggufMatrix(h, name);
  const stride = rowBytes(m);
  const start = h.dataOffset + Number(m.info.offset);
  const short = (at: number) => new GgufError(h.file, "data-short", `tensor ${name} ends past the end of the file (byte ${at})`);
  if (rows === undefined) {
    const all = readRange(h.file, start, start + stride * m.height, short);
    const out = new Float32Array(m.width * m.height);
    for (let r = 0; r < m.height; r++) out.set(decodeRow(all.subarray(r * stride, (r + 1) * stride), m), r * m.width);
    return out;
  }
  const out = new Float32Array(rows.length * m.width);
  rows.forEach((row, i) => {
    if (!(Number.isInteger(row) && row >= 0 && row < m.height)) throw new GgufError(h.file, "malformed", `row ${row} outside ${name} (${m.height} rows)`);
    out.set(decodeRow(readRange(h.file, start + row * stride, start + (row + 1) * stride, short), m), i * m.width);
  });
  return out;
}
