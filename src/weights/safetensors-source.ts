// A Hugging Face directory's safetensors (one file or shards) as a TensorSource.
import { loadSafetensors } from "./load-safetensors.ts";
import { SafetensorsError } from "./safetensors-error.ts";
import type { TensorSource } from "./tensor-source.ts";

const FLOATS = new Set(["F32", "F16", "BF16"]);

/**
 * Opens `dir`'s model.safetensors or the shards its index names; data is read per tensor on demand.
 *
 * @example
 * const src = safetensorsSource("./model");
 * const embed = await src.read("model.embed_tokens.weight");
 */
export function safetensorsSource(dir: string): TensorSource {
  const store = loadSafetensors(dir);
  const entry = (name: string) => {
    const e = store.entries.get(name);
    if (!e) throw new SafetensorsError(dir, `tensor ${name} not found`);
    return e;
  };
  return {
    file: dir,
    names: () => [...store.entries.keys()],
    has: (name) => store.entries.has(name),
    shape: (name) => entry(name).shape,
    dtype: (name) => entry(name).dtype,
    problem: (name) => (FLOATS.has(entry(name).dtype) ? undefined : `tensor ${name} is ${entry(name).dtype}; only F32, F16 and BF16 are read as floats`),
    read: async (name) => store.get(name).data,
    rows: async (name, ids) => store.rows(name, ids),
    close: async () => {},
  };
}
