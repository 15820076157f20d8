// Reads one named F32, F16 or BF16 tensor of a .safetensors file as float32, by its byte range only.
import { decodeTensor } from "./decode-tensor.ts";
import { readRange } from "./read-range.ts";
import { readSafetensorsHeaderSync } from "./read-safetensors-header.ts";
import { SafetensorsError } from "./safetensors-error.ts";
import type { SafetensorsDtype, SafetensorsHeader } from "./safetensors-header.ts";

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The values widened to float32. */
  data: Float32Array;
}

/** The tensor `name` of the file `header` was read from (throws SafetensorsError when absent or not a float dtype). */
export function readSafetensorsTensorSync(header: SafetensorsHeader, name: string): SafetensorsTensor {
  const entry = header.tensors.get(name);
  if (!entry) throw new SafetensorsError(header.file, `no tensor named ${name}`);
  if (entry.dtype !== "F32" && entry.dtype !== "F16" && entry.dtype !== "BF16") {
    throw new SafetensorsError(header.file, `tensor ${name} is ${entry.dtype}; only F32, F16 and BF16 can be read as floats`);
  }
  return { name, dtype: entry.dtype, shape: entry.shape, data: decodeTensor(readRange(header.file, entry.begin, entry.end), entry.dtype) };
}

/** Reads one F32, F16 or BF16 tensor as float32 (the header is read when not given). */
export async function readSafetensorsTensor(params: { file: string; name: string; header?: SafetensorsHeader }): Promise<SafetensorsTensor> {
  return readSafetensorsTensorSync(params.header ?? readSafetensorsHeaderSync(params.file), params.name);
}
