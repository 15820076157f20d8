// Turns a tensor's stored bytes (F32, F16 or BF16, little-endian) into float32 values.
import type { SafetensorsDtype } from "./safetensors-header.ts";

/** Decodes `bytes` (exactly the tensor's data) into a new Float32Array. */
export function decodeTensor(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  // Copy first: the data of a tensor need not be aligned to its element size within the file.
  const aligned = bytes.slice();
  if (dtype === "F32") return new Float32Array(aligned.buffer, 0, aligned.byteLength / 4);
  const halves = new Uint16Array(aligned.buffer, 0, aligned.byteLength / 2);
  const out = new Float32Array(halves.length);
  if (dtype === "BF16") {
    // bf16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
    return out;
  }
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
