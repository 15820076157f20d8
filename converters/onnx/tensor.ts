// TensorProto headers read from the wire (values left where they are), values decoded on demand,
// and new TensorProto bytes encoded for the tensors a patch changes.
import { existsSync, closeSync, openSync, fstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative } from "node:path";
import { float16ToNumber, numberToFloat16 } from "../../src/core/float16.ts";
import { OnnxExternalDataError, OnnxFormatError } from "./errors.ts";
import {
  type ByteSource,
  MemorySource,
  WIRE_LEN,
  concatBytes,
  fields,
  lenField,
  readFully,
  readInt64s,
  readString,
  stringField,
  varintField,
} from "./wire.ts";

export const DT_FLOAT = 1;
export const DT_FLOAT16 = 10;
export const DT_DOUBLE = 11;
export const DT_BFLOAT16 = 16;

const FLOAT_TYPES: Record<number, string> = { [DT_FLOAT]: "float32", [DT_FLOAT16]: "float16", [DT_DOUBLE]: "float64", [DT_BFLOAT16]: "bfloat16" };

export function isFloatType(dataType: number): boolean {
  return dataType in FLOAT_TYPES;
}

export function dataTypeName(dataType: number): string {
  return FLOAT_TYPES[dataType] ?? `type ${dataType}`;
}

/** Where a tensor's values are: a byte range of the model file, or of an external data file. */
export interface TensorData {
  /** "raw": little-endian bytes; "float"/"double"/"int32": the typed repeated field (packed). */
  kind: "raw" | "float" | "double" | "int32" | "none";
  /** External data file (absolute path) when the tensor lives outside the model. */
  externalPath?: string;
  /** Location as written in the model (relative to the model's folder). */
  externalLocation?: string;
  offset: number;
  length: number;
}

export interface TensorHeader {
  name: string;
  dims: number[];
  dataType: number;
  data: TensorData;
}

export function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Reads the header of the TensorProto in [start, end) of `src`, without reading its values. */
export function readTensorHeader(src: ByteSource, start: number, end: number, modelPath: string): TensorHeader {
  let name = "";
  const dims: number[] = [];
  let dataType = 0;
  let data: TensorData = { kind: "none", offset: 0, length: 0 };
  const external: Record<string, string> = {};
  let location = 0;
  for (const f of fields(src, start, end)) {
    switch (f.field) {
      case 1:
        dims.push(...readInt64s(src, f));
        break;
      case 2:
        dataType = f.varint ?? 0;
        break;
      case 8:
        name = readString(src, f);
        break;
      case 9:
        data = { kind: "raw", offset: f.valueStart, length: f.end - f.valueStart };
        break;
      case 4:
        if (f.wire === WIRE_LEN) data = { kind: "float", offset: f.valueStart, length: f.end - f.valueStart };
        break;
      case 10:
        if (f.wire === WIRE_LEN) data = { kind: "double", offset: f.valueStart, length: f.end - f.valueStart };
        break;
      case 5:
        if (f.wire === WIRE_LEN) data = { kind: "int32", offset: f.valueStart, length: f.end - f.valueStart };
        break;
      case 13: {
        let key = "";
        let value = "";
        for (const e of fields(src, f.valueStart, f.end)) {
          if (e.field === 1) key = readString(src, e);
          if (e.field === 2) value = readString(src, e);
        }
        external[key] = value;
        break;
      }
      case 14:
        location = f.varint ?? 0;
        break;
    }
  }
  if (location === 1) {
    const loc = external.location;
    if (!loc) throw new OnnxFormatError(modelPath, `initializer "${name}" is external but has no location`);
    const offset = Number(external.offset ?? 0);
    const length = external.length !== undefined ? Number(external.length) : elementCount(dims) * bytesPerElement(dataType);
    for (const [what, v] of [["offset", offset], ["length", length]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new OnnxFormatError(modelPath, `external data ${what} of tensor ${JSON.stringify(name)} is ${JSON.stringify(external[what] ?? String(v))}, not a byte count`);
      }
    }
    data = { kind: "raw", externalPath: confinedExternalPath(modelPath, loc, name), externalLocation: loc, offset, length };
  }
  return { name, dims, dataType, data };
}

/**
 * Where an external data location points, refused (before anything is read or written) unless it is a file inside the
 * model's own folder: an absolute path, a "../" escape, or a symbolic link that resolves outside the folder would let
 * a graph make yarnify read, or copy into the output, any file on the machine.
 */
export function confinedExternalPath(modelPath: string, location: string, tensorName: string): string {
  const dir = dirname(modelPath);
  const refuse = (why: string): never => {
    throw new OnnxExternalDataError(modelPath, `external data location ${JSON.stringify(location)} of tensor ${JSON.stringify(tensorName)} ${why}; a graph may only reference files inside its own folder`);
  };
  if (location.includes("\0")) refuse("contains a NUL byte");
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith("\\")) refuse("is an absolute path");
  const rel = normalize(location.replaceAll("\\", "/"));
  if (rel === ".." || rel.startsWith("../") || rel === "." || rel === "") refuse("points outside the model's folder");
  const path = join(dir, rel);
  let real: string | undefined;
  try {
    real = realpathSync(path);
  } catch {
    real = undefined; // missing: said when its bytes are needed
  }
  if (real !== undefined) {
    const realDir = realpathSync(dir);
    const inside = relative(realDir, real);
    if (inside === "" || inside === ".." || inside.startsWith("../") || isAbsolute(inside)) refuse(`resolves to ${real}, outside the model's folder`);
  }
  return path;
}

export function bytesPerElement(dataType: number): number {
  if (dataType === DT_FLOAT16 || dataType === DT_BFLOAT16) return 2;
  if (dataType === DT_DOUBLE) return 8;
  return 4;
}

/** Decodes a float tensor's values to float64 numbers (reading only its own bytes). */
export function readTensorValues(src: ByteSource, h: TensorHeader, modelPath: string): Float64Array {
  const n = elementCount(h.dims);
  const bytes = readDataBytes(src, h, modelPath);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  const need = (per: number) => {
    if (bytes.length < n * per) throw new OnnxFormatError(modelPath, `tensor "${h.name}" holds ${bytes.length} bytes, expected ${n * per}`);
  };
  if (h.data.kind === "raw") {
    const per = bytesPerElement(h.dataType);
    need(per);
    for (let i = 0; i < n; i++) {
      if (h.dataType === DT_FLOAT) out[i] = view.getFloat32(i * 4, true);
      else if (h.dataType === DT_DOUBLE) out[i] = view.getFloat64(i * 8, true);
      else if (h.dataType === DT_FLOAT16) out[i] = float16ToNumber(view.getUint16(i * 2, true));
      else out[i] = bf16ToNumber(view.getUint16(i * 2, true));
    }
  } else if (h.data.kind === "float") {
    need(4);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (h.data.kind === "double") {
    need(8);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  } else if (h.data.kind === "int32") {
    // float16/bfloat16 values stored in int32_data: one varint per element holding the 16 bits.
    const ms = new MemorySource(bytes);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      let mul = 1;
      for (;;) {
        const b = ms.read(pos++, 1)[0];
        v += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) break;
        mul *= 128;
      }
      out[i] = h.dataType === DT_FLOAT16 ? float16ToNumber(v & 0xffff) : bf16ToNumber(v & 0xffff);
    }
  } else {
    throw new OnnxFormatError(modelPath, `tensor "${h.name}" has no values`);
  }
  return out;
}

function readDataBytes(src: ByteSource, h: TensorHeader, modelPath: string): Uint8Array {
  const d = h.data;
  if (d.externalPath === undefined) return src.read(d.offset, d.length);
  if (!existsSync(d.externalPath)) {
    throw new OnnxExternalDataError(modelPath, `external data file "${d.externalLocation}" of tensor "${h.name}" is missing`);
  }
  const fd = openSync(d.externalPath, "r");
  try {
    if (fstatSync(fd).size < d.offset + d.length) {
      throw new OnnxExternalDataError(modelPath, `external data file "${d.externalLocation}" is shorter than tensor "${h.name}" needs`);
    }
    const out = new Uint8Array(d.length);
    readFully(fd, out, d.offset);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A new inline TensorProto (dims, data_type, name, raw_data), values rounded to `dataType`. */
export function encodeTensor(p: { name: string; dims: number[]; dataType: number; values: ArrayLike<number> }): Uint8Array {
  const raw = encodeValues(p.values, p.dataType);
  const dims = concatBytes(p.dims.map((d) => varintField(1, d)));
  return concatBytes([dims, varintField(2, p.dataType), stringField(8, p.name), lenField(9, raw)]);
}

export function encodeValues(values: ArrayLike<number>, dataType: number): Uint8Array {
  const per = bytesPerElement(dataType);
  const out = new Uint8Array(values.length * per);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dataType === DT_FLOAT) view.setFloat32(i * 4, v, true);
    else if (dataType === DT_DOUBLE) view.setFloat64(i * 8, v, true);
    else if (dataType === DT_FLOAT16) view.setUint16(i * 2, numberToFloat16(v), true);
    else if (dataType === DT_BFLOAT16) view.setUint16(i * 2, numberToBf16(v), true);
    else throw new Error(`cannot encode values as ${dataTypeName(dataType)}`);
  }
  return out;
}

// ---- float16 / bfloat16 (round to nearest even, as torch's .to(dtype) does from float32) ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// The half-float conversions are src/core/float16.ts's, under the names this converter has always exported.
export { float16ToNumber as halfToNumber, numberToFloat16 as numberToHalf };

export function bf16ToNumber(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

export function numberToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
