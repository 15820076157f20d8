// Reads selected rows of a 2-D F32/F16/BF16 tensor (embedding lookups) without reading the rest.
import { decodeTensor } from "./decode-tensor.ts";
import { readRange } from "./read-range.ts";
import { SafetensorsError } from "./safetensors-error.ts";
import { DTYPE_BYTES, type SafetensorsHeader } from "./safetensors-header.ts";

export function readSafetensorsRowsSync(header: SafetensorsHeader, name: string, rows: readonly number[]): Float32Array {
  const entry = header.tensors.get(name);
  if (!entry) throw new SafetensorsError(header.file, `no tensor named ${name}`);
  if (entry.shape.length !== 2 || !["F32", "F16", "BF16"].includes(entry.dtype)) {
    throw new SafetensorsError(header.file, `tensor ${name} is not a 2-D float tensor`);
  }
  const [nRows, width] = entry.shape as [number, number];
  const rowBytes = width * DTYPE_BYTES[entry.dtype]!;
  const out = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (!(Number.isInteger(row) && row >= 0 && row < nRows)) throw new SafetensorsError(header.file, `row ${row} outside ${name} [${entry.shape}]`);
    const begin = entry.begin + row * rowBytes;
    out.set(decodeTensor(readRange(header.file, begin, begin + rowBytes), entry.dtype), r * width);
  }
  return out;
}

/** Promise form of readSafetensorsRowsSync. */
export async function readSafetensorsRows(params: { header: SafetensorsHeader; name: string; rows: readonly number[] }): Promise<Float32Array> {
  return readSafetensorsRowsSync(params.header, params.name, params.rows);
}
