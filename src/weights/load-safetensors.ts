// Opens a model's weights: one model.safetensors, or the shards named by model.safetensors.index.json.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { ModelFormatError } from "../errors.ts";
import { decodeTensor } from "./decode-tensor.ts";
import { parseSafetensorsHeader, type TensorEntry } from "./safetensors-header.ts";

export interface TensorStore {
  /** Every tensor name with its entry (shape, dtype). */
  entries: Map<string, TensorEntry & { file: string }>;
  /** The tensor as float32; throws ModelFormatError naming the tensor when it is absent. */
  get(name: string): { shape: number[]; data: Float32Array };
}

/** Reads the headers of `dir`'s safetensors file(s); tensor data is read on `get`. */
export function loadSafetensors(dir: string): TensorStore {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  let files: string[];
  if (existsSync(single)) files = [single];
  else if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> }).weight_map;
    if (!map) throw new ModelFormatError("no weight_map", index);
    files = [...new Set(Object.values(map))].map((f) => join(dir, f));
  } else {
    throw new ModelFormatError("no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)", dir);
  }
  const entries = new Map<string, TensorEntry & { file: string }>();
  for (const file of files) {
    const size = statSync(file).size;
    const prefix = readRange(file, 0, Math.min(size, 8));
    const length = prefix.length === 8 ? Number(new DataView(prefix.buffer).getBigUint64(0, true)) : 0;
    const header = parseSafetensorsHeader(readRange(file, 0, Math.min(size, 8 + Math.min(length, size))), size, file);
    for (const [name, e] of header.tensors) entries.set(name, { ...e, file });
  }
  return {
    entries,
    get(name) {
      const e = entries.get(name);
      if (!e) throw new ModelFormatError(`tensor ${name} not found`, dir);
      return { shape: e.shape, data: decodeTensor(readRange(e.file, e.begin, e.end), e.dtype) };
    },
  };
}

// Reads bytes [begin, end) so that a large checkpoint is never held whole in memory.
function readRange(file: string, begin: number, end: number): Uint8Array {
  const out = new Uint8Array(end - begin);
  const fd = openSync(file, "r");
  try {
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, begin + done);
      if (n === 0) throw new ModelFormatError(`unexpected end of file at byte ${begin + done}`, file);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
