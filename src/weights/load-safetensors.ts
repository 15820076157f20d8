// Opens a model's weights: one model.safetensors, or the shards named by model.safetensors.index.json.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsHeaderSync } from "./read-safetensors-header.ts";
import { readSafetensorsRowsSync } from "./read-safetensors-rows.ts";
import { readSafetensorsTensorSync, type SafetensorsTensor } from "./read-safetensors-tensor.ts";
import { SafetensorsError } from "./safetensors-error.ts";
import type { SafetensorsHeader, TensorEntry } from "./safetensors-header.ts";

export interface TensorStore {
  /** Every tensor name with its entry (shape, dtype) and the file holding it. */
  entries: Map<string, TensorEntry & { file: string }>;
  /** The tensor as float32; throws SafetensorsError (a ModelFormatError) naming the tensor when it is absent. */
  get(name: string): SafetensorsTensor;
  /** Selected rows of a 2-D tensor (embedding lookups). */
  rows(name: string, rows: readonly number[]): Float32Array;
}

/** The safetensors file(s) of `dir`, or undefined when it has neither model.safetensors nor an index. */
export function safetensorsFiles(dir: string): string[] | undefined {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(single)) return [single];
  if (!existsSync(index)) return undefined;
  const map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> }).weight_map;
  if (!map) throw new SafetensorsError(index, "no weight_map");
  return [...new Set(Object.values(map))].map((f) => join(dir, f));
}

/** Reads the headers of `dir`'s safetensors file(s); tensor data is read on `get` and `rows`. */
export function loadSafetensors(dir: string): TensorStore {
  const files = safetensorsFiles(dir);
  if (!files) throw new SafetensorsError(dir, "no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)");
  const entries = new Map<string, TensorEntry & { file: string }>();
  const headerOf = new Map<string, SafetensorsHeader>();
  for (const file of files) {
    const header = readSafetensorsHeaderSync(file);
    for (const [name, e] of header.tensors) {
      entries.set(name, { ...e, file });
      headerOf.set(name, header);
    }
  }
  const header = (name: string) => {
    const h = headerOf.get(name);
    if (!h) throw new SafetensorsError(dir, `tensor ${name} not found`);
    return h;
  };
  return {
    entries,
    get: (name) => readSafetensorsTensorSync(header(name), name),
    rows: (name, rows) => readSafetensorsRowsSync(header(name), name, rows),
  };
}
