// Turns a tensor's stored bytes (F32, F16 or BF16, little-endian) into float32 values.
import { fromFloat16Bits } from "../core/float16.ts";
import { SafetensorsError } from "./safetensors-error.ts";
import type { SafetensorsDtype } from "./safetensors-header.ts";

/** Decodes `bytes` (exactly the tensor's data) into a new Float32Array. */
export function decodeTensor(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  // Copy first: the data of a tensor need not be aligned to its element size within the file.
  const aligned = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (dtype === "F32") return new Float32Array(aligned);
  if (dtype === "F16") return fromFloat16Bits(new Uint16Array(aligned));
  if (dtype !== "BF16") throw new SafetensorsError(undefined, `cannot decode ${dtype}; only F32, F16 and BF16 can be read as floats`);
  // bf16 is the top half of a float32.
  const halves = new Uint16Array(aligned);
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return new Float32Array(bits.buffer);
}
